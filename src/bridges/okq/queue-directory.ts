import { DedupScope } from "../../../gen/switchyard/v1/types_pb.js";
import { type BrokerClients, reasonOf } from "../bridge.js";

/**
 * okQ queues are implicit: the first push creates one. Here a queue is a topic created with
 * `queue: true` (a same-name subscription) and the "while unacked" dedup scope, so an acked event
 * id may be pushed again (README "okQ bridge (RESP)"). Known names are cached, so a push costs one
 * Publish; a cached queue deleted behind our back is recreated on TOPIC_NOT_FOUND.
 */
export interface QueueDirectory {
  /** Makes sure the queue's topic and subscription exist. Throws the broker's error otherwise. */
  ensure(name: string): Promise<void>;
  /** True when the queue is known to exist (ensure would cost nothing). */
  known(name: string): boolean;
  /** Drops a name from the cache (after TOPIC_NOT_FOUND). */
  forget(name: string): void;
  /** Resolves when this bridge creates `name` (or at once if it is known), or rejects when `signal` aborts. */
  created(name: string, signal: AbortSignal): Promise<void>;
  /** Names with a {@link created} wait in progress; for tests of the memory bound. */
  waitingNames(): number;
}

/** Most names cached; past it the cache starts over (it is only an optimisation). */
const MAX_CACHED = 100_000;

/** Creates the {@link QueueDirectory} over the admin client. */
export function createQueueDirectory(clients: BrokerClients): QueueDirectory {
  const known = new Set<string>();
  const creating = new Map<string, Promise<void>>();
  const waiters = new Map<string, Set<() => void>>();

  async function create(name: string): Promise<void> {
    try {
      await clients.admin.createTopic({ name, queue: true, dedupScope: DedupScope.UNACKED });
    } catch (e) {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
      // A topic of that name exists (made over the API, perhaps without its queue subscription).
      try {
        await clients.admin.getSubscription({ name });
      } catch (e2) {
        if (reasonOf(e2) !== "SUBSCRIPTION_NOT_FOUND") throw e2;
        await clients.admin
          .createSubscription({ subscription: { name, topic: name, start: { at: { case: "earliest", value: true } } } })
          .catch((e3: unknown) => {
            if (reasonOf(e3) !== "ALREADY_EXISTS") throw e3;
          });
      }
    }
    if (known.size >= MAX_CACHED) known.clear();
    known.add(name);
    const ws = waiters.get(name);
    waiters.delete(name);
    for (const wake of ws ?? []) wake();
  }

  return {
    ensure(name) {
      if (known.has(name)) return Promise.resolve();
      let p = creating.get(name);
      if (!p) {
        p = create(name).finally(() => creating.delete(name));
        creating.set(name, p);
      }
      return p;
    },
    known: (name) => known.has(name),
    waitingNames: () => waiters.size,
    forget(name) {
      known.delete(name);
    },
    created(name, signal) {
      if (known.has(name)) return Promise.resolve();
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        let set = waiters.get(name);
        if (!set) {
          set = new Set();
          waiters.set(name, set);
        }
        const own = set;
        const onAbort = () => {
          own.delete(wake);
          // A name nobody waits for any more leaves nothing behind (hostile clients wait on
          // endless names that are never created, e.g. invalid ones).
          if (own.size === 0 && waiters.get(name) === own) waiters.delete(name);
          reject(signal.reason);
        };
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        set.add(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
