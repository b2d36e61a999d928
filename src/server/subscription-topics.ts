import type { Broker } from "../core/index.js";

/** Most subscription names remembered; past it the cache starts over (it is only a shortcut). */
const MAX_CACHED = 100_000;

/**
 * The topic of a subscription, for the auth interceptor: looked up in the core once and then
 * remembered until the subscription changes (deleted, or its topic deleted). `broker()` is
 * undefined until the server has started (every lookup then says "no such subscription").
 */
export function createSubscriptionTopics(broker: () => Broker | undefined): {
  /** The topic at once when known (or when there is no broker yet), else a promise of it. */
  topicOf(name: string): string | undefined | Promise<string | undefined>;
} {
  const cache = new Map<string, string>();
  let watched: Broker | undefined;
  // Bumped by every change: a lookup that raced with one is not remembered.
  let generation = 0;

  function watch(b: Broker): void {
    if (watched === b) return;
    watched = b;
    cache.clear();
    b.onSubscriptionChange((change) => {
      generation++;
      if (change.kind === "subscription") cache.delete(change.name);
      else cache.clear();
    });
  }

  async function lookUp(b: Broker, name: string): Promise<string | undefined> {
    const before = generation;
    try {
      const { topic } = await b.getSubscription(name);
      if (generation !== before) return topic;
      if (cache.size >= MAX_CACHED) cache.clear();
      cache.set(name, topic);
      return topic;
    } catch {
      return undefined;
    }
  }

  return {
    topicOf(name) {
      const b = broker();
      if (!b) return undefined;
      watch(b);
      // A known subscription answers at once: the auth check of its Pull or Ack then adds no
      // promise to the call (src/server/auth-interceptor.ts).
      return cache.get(name) ?? lookUp(b, name);
    },
  };
}
