import type { Logger } from "../../util/index.js";
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

/** Thrown when the settings would outgrow their bounds, even after dropping those of deleted queues. */
export class TooManySettingsError extends Error {
  override name = "TooManySettingsError";
}

interface Entry extends QueueSettings {
  /** The message id of the record holding this entry. */
  readonly id: string;
  /** The record's size in bytes (counted against {@link SettingsBounds.maxBytes}). */
  readonly bytes: number;
}

/** Bounds of what the settings store keeps (in the topic and in memory). */
export interface SettingsBounds {
  /** Most queues with settings. Default 100,000. */
  readonly maxQueues?: number;
  /** Most bytes of records in all (a record is the queue's name plus about 40 bytes). Default 4 MiB. */
  readonly maxBytes?: number;
  /**
   * The queues that exist now. When a change for one more queue would pass a bound, the
   * settings of queues that do not exist (deleted, or never made) are dropped first.
   */
  readonly existingQueues?: () => Promise<ReadonlySet<string>>;
}

/** Most queues with settings by default (bounds the bridge's memory; a change for one more fails). */
const DEFAULT_MAX_QUEUES = 100_000;
/** Most bytes of settings records by default. */
const DEFAULT_MAX_BYTES = 4 * 1024 * 1024;

const RECORD_KEYS = new Set(["queue", "policy", "status"]);

/**
 * A settings record as the bridge writes it, or undefined for anything else: the settings topic
 * is an ordinary topic, so another door may write to it, and a record that is not exactly
 * `{"queue": string, "policy": 1|2|null, "status": 0|1|null}` must not change a queue's settings.
 */
function parseRecord(data: Uint8Array): { queue: string; settings: QueueSettings } | undefined {
  let r: unknown;
  try {
    r = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return undefined;
  const { queue, policy, status } = r as { queue?: unknown; policy?: unknown; status?: unknown };
  if (typeof queue !== "string" || Object.keys(r).some((k) => !RECORD_KEYS.has(k))) return undefined;
  if (!(policy === BROADCAST || policy === ROUNDROBIN || policy === null || policy === undefined)) return undefined;
  if (!(status === 0 || status === 1 || status === null || status === undefined)) return undefined;
  return {
    queue,
    settings: {
      ...(policy === BROADCAST || policy === ROUNDROBIN ? { policy } : {}),
      ...(status === 0 || status === 1 ? { status } : {}),
    },
  };
}

/** Creates the {@link SettingsStore} on topic `topic`, calling the broker as `clients`. */
export function createSettingsStore(
  clients: BrokerClients,
  topic: string,
  bounds: SettingsBounds = {},
  logger?: Logger,
): SettingsStore {
  const maxQueues = bounds.maxQueues ?? DEFAULT_MAX_QUEUES;
  const maxBytes = bounds.maxBytes ?? DEFAULT_MAX_BYTES;
  const entries = new Map<string, Entry>();
  let totalBytes = 0;
  const listeners = new Set<(queue: string) => void>();
  let loading: Promise<void> | undefined;
  let writes: Promise<unknown> = Promise.resolve();
  let topicKnown = false;

  function put(queue: string, entry: Entry): void {
    totalBytes += entry.bytes - (entries.get(queue)?.bytes ?? 0);
    entries.set(queue, entry);
  }

  function drop(queue: string): void {
    totalBytes -= entries.get(queue)?.bytes ?? 0;
    entries.delete(queue);
  }

  const fits = (queue: string, bytes: number) => {
    const old = entries.get(queue);
    return (old !== undefined || entries.size < maxQueues) && totalBytes - (old?.bytes ?? 0) + bytes <= maxBytes;
  };

  async function load(): Promise<void> {
    const stop = new AbortController();
    let skipped = 0;
    let invalid = 0;
    try {
      const stream = clients.replay.read(
        { topic, from: { case: "fromSeq", value: 1n }, follow: false, maxMessages: 1000 },
        { signal: stop.signal },
      );
      for await (const { messages } of stream) {
        for (const m of messages) {
          const record = parseRecord(m.data);
          if (!record) {
            invalid++;
            continue;
          }
          // Records written by hand over the API are bounded like any other.
          if (!fits(record.queue, m.data.length)) {
            skipped++;
            continue;
          }
          put(record.queue, { ...record.settings, id: m.id, bytes: m.data.length });
        }
      }
      topicKnown = true;
    } catch (e) {
      if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
    } finally {
      stop.abort();
    }
    if (skipped > 0) logger?.warn("restmq: settings records over the bounds were not loaded", { skipped, topic });
    if (invalid > 0) {
      logger?.warn("restmq: settings records not written by the bridge were ignored", { ignored: invalid, topic });
    }
  }

  async function ensureTopic(): Promise<void> {
    if (topicKnown) return;
    await clients.admin.createTopic({ name: topic, queue: true }).catch((e: unknown) => {
      if (reasonOf(e) !== "ALREADY_EXISTS") throw e;
    });
    topicKnown = true;
  }

  /** Drops (and acks the records of) the settings of queues that do not exist; true if any went. */
  async function pruneAbsent(): Promise<boolean> {
    if (!bounds.existingQueues) return false;
    const existing = await bounds.existingQueues();
    const gone = [...entries].filter(([queue]) => !existing.has(queue));
    for (const [queue] of gone) drop(queue);
    const ids = gone.map(([, e]) => e.id);
    for (let i = 0; i < ids.length; i += 1000) {
      await clients.subscriber.ack({ subscription: topic, messageIds: ids.slice(i, i + 1000) }).catch(() => {});
    }
    return gone.length > 0;
  }

  async function write(queue: string, change: QueueSettings): Promise<void> {
    const old = entries.get(queue);
    const next: QueueSettings = { policy: change.policy ?? old?.policy, status: change.status ?? old?.status };
    const data = Buffer.from(
      JSON.stringify({ queue, policy: next.policy ?? null, status: next.status ?? null }),
      "utf8",
    );
    if (!fits(queue, data.length) && (!(await pruneAbsent()) || !fits(queue, data.length))) {
      throw new TooManySettingsError(`settings are kept for at most ${maxQueues} queues and ${maxBytes} bytes`);
    }
    await ensureTopic();
    let published: Awaited<ReturnType<BrokerClients["publisher"]["publish"]>>;
    try {
      published = await clients.publisher.publish({ topic, messages: [{ data }] });
    } catch (e) {
      if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
      topicKnown = false; // deleted over the API: the records went with it
      entries.clear();
      totalBytes = 0;
      await ensureTopic();
      published = await clients.publisher.publish({ topic, messages: [{ data }] });
    }
    const id = published.results[0]?.id ?? "";
    const replaced = entries.get(queue);
    put(queue, { ...next, id, bytes: data.length });
    if (replaced) {
      // The old record is superseded; if this ack is lost, the newer record still wins at load (seq order).
      await clients.subscriber.ack({ subscription: topic, messageIds: [replaced.id] }).catch(() => {});
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
