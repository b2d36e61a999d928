import { DedupScope } from "../../../gen/switchyard/v1/types_pb.js";
import { type BrokerClients, checkMayPublish, reasonOf } from "../bridge.js";

/**
 * RestMQ queues are implicit: the first add creates one. Here a queue is a topic created with
 * `queue: true` (a same-name subscription) and the "while unacked" dedup scope, the same queue
 * the okQ bridge makes, so both doors can share it (RestMQ itself never sends message ids). Known names are cached, so an add costs one Publish;
 * a cached queue deleted behind the bridge's back is created again on TOPIC_NOT_FOUND.
 */
export interface QueueDirectory {
  /**
   * Makes sure the queue's topic and subscription exist. Throws the broker's error otherwise.
   * `publisher`: the clients of the user whose add needs the queue. Unless they are the bridge's
   * own, the broker is first asked whether that user may publish there (`checkMayPublish`), and
   * a refused user (PERMISSION_DENIED, UNAUTHENTICATED: thrown) creates nothing.
   */
  ensure(name: string, publisher?: BrokerClients): Promise<void>;
  /** Drops a name from the cache (after TOPIC_NOT_FOUND or SUBSCRIPTION_NOT_FOUND). */
  forget(name: string): void;
  /** Calls `listener` with each queue the bridge creates (live consumers waiting for it start at once). */
  onCreated(listener: (name: string) => void): void;
}

/** Most names cached; past it the cache starts over (it is only an optimisation). */
const MAX_CACHED = 100_000;

/**
 * Creates a {@link QueueDirectory}. `clients` are the server's own: making a bridge's implicit
 * queues is the server's call, not the user's (whose own calls then say what they may do).
 */
export function createQueueDirectory(clients: BrokerClients): QueueDirectory {
  const known = new Set<string>();
  const creating = new Map<string, Promise<void>>();
  const listeners: ((name: string) => void)[] = [];

  async function create(name: string): Promise<void> {
    await createOrComplete(name);
    if (known.size >= MAX_CACHED) known.clear();
    known.add(name);
    for (const listener of listeners) listener(name);
  }

  async function createOrComplete(name: string): Promise<void> {
    try {
      await clients.admin.createTopic({ name, queue: true, dedupScope: DedupScope.UNACKED });
    } catch (e) {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
      // A topic of that name exists (made over the API, perhaps without its queue subscription):
      // without a subscription its messages would not even be stored.
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
  }

  return {
    async ensure(name, publisher) {
      if (known.has(name)) return;
      if (publisher !== undefined && publisher !== clients) await checkMayPublish(publisher, name);
      let p = creating.get(name);
      if (!p) {
        p = create(name).finally(() => creating.delete(name));
        creating.set(name, p);
      }
      await p;
    },
    forget(name) {
      known.delete(name);
    },
    onCreated(listener) {
      listeners.push(listener);
    },
  };
}
