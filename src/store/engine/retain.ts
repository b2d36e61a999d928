/**
 * Keeping acked messages for replay (`retain_acked_ms`). A message that no subscription holds
 * any more stays in the log with an explicit Ref of 0 and an entry in the RetainExpiry index
 * (by publish time + retain_acked_ms), which the retention sweep walks in time order.
 */
import type { KvReader, KvWriter } from "../kv/kv.js";
import type { TopicRecord } from "../store.js";
import {
  decodeU32,
  encodeU32,
  parseRetainExpiryKey,
  prefixEnd,
  retainExpiryKey,
  seqKey,
  Table,
  tableKey,
} from "./keys.js";
import { messagePublishTime } from "./message-codec.js";
import { type Head, readHead, topicById, writeHead } from "./records.js";
import { deleteMessage } from "./retention.js";

const EMPTY = Buffer.alloc(0);

/** The expire time of an encoded message (0: none). */
export function messageExpireAt(raw: Buffer): number {
  return raw.readDoubleBE(18);
}

/**
 * The last holder let go of a stored message: keep it (Ref 0) when the topic retains acked
 * messages and its retention has not passed. Returns false when it should leave the log.
 */
export function retainMessage(w: KvWriter, topic: TopicRecord, seq: number, nowMs: number): boolean {
  if (topic.retainAckedMs <= 0) return false;
  const raw = w.get(seqKey(Table.Message, topic.id, seq));
  if (!raw) return false;
  const expireAt = messageExpireAt(raw);
  if (expireAt > 0 && expireAt <= nowMs) return false;
  const untilMs = messagePublishTime(raw) + topic.retainAckedMs;
  if (untilMs <= nowMs) return false;
  w.put(seqKey(Table.Ref, topic.id, seq), encodeU32(0));
  w.put(retainExpiryKey(untilMs, topic.id, seq), EMPTY);
  return true;
}

/** How many holders (subscriptions, snapshots) a stored message has; no Ref key means one. */
export function holderCount(r: KvReader, topicId: number, seq: number): number {
  const raw = r.get(seqKey(Table.Ref, topicId, seq));
  return raw ? decodeU32(raw) : 1;
}

/** Adds one holder to a stored message (a retained one becomes held again). */
export function addHolder(w: KvWriter, topicId: number, seq: number): void {
  w.put(seqKey(Table.Ref, topicId, seq), encodeU32(holderCount(w, topicId, seq) + 1));
}

/** Per-topic state a sweep loads once and writes once. */
export class TopicHeads {
  private readonly loaded = new Map<number, { topic: TopicRecord; head: Head } | null>();

  constructor(private readonly w: KvWriter) {}

  get(topicId: number): { topic: TopicRecord; head: Head } | undefined {
    let entry = this.loaded.get(topicId);
    if (entry === undefined) {
      const topic = topicById(this.w, topicId);
      entry = topic ? { topic, head: readHead(this.w, topicId) } : null;
      this.loaded.set(topicId, entry);
    }
    return entry ?? undefined;
  }

  /** Writes every head loaded. */
  flush(): void {
    for (const entry of this.loaded.values()) if (entry) writeHead(this.w, entry.topic.id, entry.head);
  }
}

/** Read-only: is a retained message due for the sweep at `nowMs`? */
export function retainedDue(r: KvReader, nowMs: number): boolean {
  const start = tableKey(Table.RetainExpiry);
  return r.range({ start, end: retainExpiryKey(nowMs + 1, 0, 0), limit: 1 }).length > 0;
}

/** Are there retained messages at all? */
export function hasRetained(r: KvReader): boolean {
  const start = tableKey(Table.RetainExpiry);
  return r.range({ start, end: prefixEnd(start), limit: 1 }).length > 0;
}

/**
 * Removes retained messages whose retention has passed, at most `budget` index entries.
 * Returns the entries looked at and the messages removed.
 */
export function sweepRetained(w: KvWriter, nowMs: number, budget: number): { seen: number; removed: number } {
  const start = tableKey(Table.RetainExpiry);
  const end = retainExpiryKey(nowMs + 1, 0, 0);
  const entries = w.range({ start, end, limit: budget });
  const heads = new TopicHeads(w);
  let removed = 0;
  for (const { key } of entries) {
    w.del(key);
    const { topicId, seq } = parseRetainExpiryKey(key);
    const ref = w.get(seqKey(Table.Ref, topicId, seq));
    if (!ref || decodeU32(ref) !== 0) continue; // held again (Seek, snapshot) or gone
    const t = heads.get(topicId);
    const raw = w.get(seqKey(Table.Message, topicId, seq));
    if (!t || !raw) continue;
    const untilMs = messagePublishTime(raw) + t.topic.retainAckedMs;
    if (untilMs > nowMs) {
      w.put(retainExpiryKey(untilMs, topicId, seq), EMPTY); // retention was raised since
      continue;
    }
    deleteMessage(w, t.topic, t.head, seq, nowMs);
    removed++;
  }
  heads.flush();
  return { seen: entries.length, removed };
}
