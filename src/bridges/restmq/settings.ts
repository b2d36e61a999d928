import { type BrokerClients, reasonOf } from "../bridge.js";

/** RestMQ's policy ids (core.py): 1 broadcast, 2 roundrobin. */
export const BROADCAST = 1;
export const ROUNDROBIN = 2;
/** A queue's live-consumer policy. */
export type Policy = typeof BROADCAST | typeof ROUNDROBIN;
/** A queue's dispatch status (`/control`): 1 started, 0 stopped. */
export type Status = 0 | 1;

/** What RestMQ kept per queue beside its elements. Unset fields were never set. */
export interface QueueSettings {
  readonly policy?: Policy;
  readonly status?: Status;
}

/**
 * The per-queue settings RestMQ kept in Redis (`<q>:queuepolicy`, `queuestat:<q>`), kept here so
 * they survive a restart without any bridge-only storage: as messages of one broker topic (the
 * settings topic, a queue nobody consumes). Each change publishes the queue's whole record
 * `{"queue", "policy", "status"}`, then acks the record it replaces, so the topic holds one
 * record per queue. At start the bridge reads the topic once; reads are then served from memory.
 * docs/restmq.md "Policies and start/stop" documents the choice.
 */
export interface SettingsStore {
  /** Loads the records (once; later calls share the first load). */
  ready(): Promise<void>;
  /** A queue's settings (empty when never set). Call after {@link ready}. */
  get(queue: string): QueueSettings;
  /** Changes some of a queue's settings, durably. Changes are applied one at a time, in call order. */
  set(queue: string, change: QueueSettings): Promise<void>;
  /** Calls `listener` after every change (the dispatchers wake up on it). Returns the unsubscribe. */
  onChange(listener: (queue: string) => void): () => void;
}

/** Thrown when the settings topic would hold more queues than allowed. */
export class TooManySettingsError extends Error {
  override name = "TooManySettingsError";
}

interface Entry extends QueueSettings {
  /** The message id of the record holding this entry. */
  readonly id: string;
}

/** Most queues with settings (bounds the bridge's memory; a change for one more fails). */
const DEFAULT_MAX_QUEUES = 100_000;

function parseRecord(data: Uint8Array): { queue: string; settings: QueueSettings } | undefined {
  try {
    const r = JSON.parse(Buffer.from(data).toString("utf8")) as { queue?: unknown; policy?: unknown; status?: unknown };
    if (typeof r.queue !== "string") return undefined;
    const policy = r.policy === BROADCAST || r.policy === ROUNDROBIN ? r.policy : undefined;
    const status = r.status === 0 || r.status === 1 ? r.status : undefined;
    return {
      queue: r.queue,
      settings: { ...(policy !== undefined ? { policy } : {}), ...(status !== undefined ? { status } : {}) },
    };
  } catch {
    return undefined;
  }
}

/** Creates the {@link SettingsStore} on topic `topic`, calling the broker as `clients`. */
export function createSettingsStore(
  clients: BrokerClients,
  topic: string,
  maxQueues = DEFAULT_MAX_QUEUES,
): SettingsStore {
  const entries = new Map<string, Entry>();
  const listeners = new Set<(queue: string) => void>();
  let loading: Promise<void> | undefined;
  let writes: Promise<unknown> = Promise.resolve();
  let topicKnown = false;

  async function load(): Promise<void> {
    const stop = new AbortController();
    try {
      const stream = clients.replay.read(
        { topic, from: { case: "fromSeq", value: 1n }, follow: false, maxMessages: 1000 },
        { signal: stop.signal },
      );
      for await (const { messages } of stream) {
        for (const m of messages) {
          const record = parseRecord(m.data);
          if (record) entries.set(record.queue, { ...record.settings, id: m.id });
        }
      }
      topicKnown = true;
    } catch (e) {
      if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
    } finally {
      stop.abort();
    }
  }

  async function ensureTopic(): Promise<void> {
    if (topicKnown) return;
    await clients.admin.createTopic({ name: topic, queue: true }).catch((e: unknown) => {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
    });
    topicKnown = true;
  }

  async function write(queue: string, change: QueueSettings): Promise<void> {
    const old = entries.get(queue);
    if (!old && entries.size >= maxQueues)
      throw new TooManySettingsError(`more than ${maxQueues} queues have settings`);
    const next: QueueSettings = { policy: change.policy ?? old?.policy, status: change.status ?? old?.status };
    const data = Buffer.from(
      JSON.stringify({ queue, policy: next.policy ?? null, status: next.status ?? null }),
      "utf8",
    );
    await ensureTopic();
    let published: Awaited<ReturnType<BrokerClients["publisher"]["publish"]>>;
    try {
      published = await clients.publisher.publish({ topic, messages: [{ data }] });
    } catch (e) {
      if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
      topicKnown = false; // deleted over the API: the records went with it
      entries.clear();
      await ensureTopic();
      published = await clients.publisher.publish({ topic, messages: [{ data }] });
    }
    const id = published.results[0]?.id ?? "";
    entries.set(queue, { ...next, id });
    if (old) {
      // The old record is superseded; if this ack is lost, the newer record still wins at load (seq order).
      await clients.subscriber.ack({ subscription: topic, messageIds: [old.id] }).catch(() => {});
    }
    for (const listener of listeners) listener(queue);
  }

  return {
    ready() {
      loading ??= load().catch((e: unknown) => {
        loading = undefined; // try again on the next request
        throw e;
      });
      return loading;
    },
    get(queue) {
      const e = entries.get(queue);
      if (!e) return {};
      return {
        ...(e.policy !== undefined ? { policy: e.policy } : {}),
        ...(e.status !== undefined ? { status: e.status } : {}),
      };
    },
    set(queue, change) {
      const result = writes.then(() => write(queue, change));
      writes = result.catch(() => {});
      return result;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
