/**
 * Topic limits: `max_messages` and `max_bytes` with an overflow policy (reject, or drop the
 * oldest), and `max_age_ms`. Reject is checked before an append writes anything; drops happen
 * after it (the new messages may push the oldest out), and the retention sweep applies age and
 * limits that changed since. A dropped message leaves the log and every subscription holding
 * it, with their counters.
 */
import { BrokerError } from "../../errors/index.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import type { TopicRecord } from "../store.js";
import { fanOutTargets } from "./fan-out.js";
import { dropFromSubscription } from "./held.js";
import { idKey, prefixEnd, readU64, Table, tableKey } from "./keys.js";
import { messageDataBytes, messagePublishTime } from "./message-codec.js";
import { type Counters, type Head, readCounters, readHead, topicById, writeCounters, writeHead } from "./records.js";
import { deleteMessage } from "./retention.js";

/** Most messages an append drops for age or drop_oldest; the sweep does the rest. */
const DROPS_PER_APPEND = 10_000;
const EMPTY = Buffer.alloc(0);

function overLimit(topic: TopicRecord, messages: number, bytes: number): boolean {
  return (topic.maxMessages > 0 && messages > topic.maxMessages) || (topic.maxBytes > 0 && bytes > topic.maxBytes);
}

function isAged(topic: TopicRecord, raw: Buffer, nowMs: number): boolean {
  return topic.maxAgeMs > 0 && messagePublishTime(raw) + topic.maxAgeMs <= nowMs;
}

/** Does the topic need the sweep (retained messages, age, or limits that drop)? */
function isLimited(topic: TopicRecord): boolean {
  return (
    topic.retainAckedMs > 0 ||
    topic.maxAgeMs > 0 ||
    (topic.overflow === "drop_oldest" && (topic.maxMessages > 0 || topic.maxBytes > 0))
  );
}

/** Keeps the LimitedTopic index in step with a topic's settings (create and update). */
export function indexTopicLimits(w: KvWriter, topic: TopicRecord): void {
  if (isLimited(topic)) w.put(idKey(Table.LimitedTopic, topic.id), EMPTY);
  else w.del(idKey(Table.LimitedTopic, topic.id));
}

/**
 * Refuses an append that would pass a limit under the reject policy (BACKLOG_FULL). Read-only:
 * runs before the append writes. Messages past the max age count as gone (the append drops them).
 */
export function checkCapacity(
  r: KvReader,
  topic: TopicRecord,
  head: Head,
  adding: { messages: number; bytes: number },
  nowMs: number,
): void {
  if (topic.overflow !== "reject" || adding.messages === 0) return;
  let messages = head.messages + adding.messages;
  let bytes = head.bytes + adding.bytes;
  if (!overLimit(topic, messages, bytes)) return;
  if (topic.maxAgeMs > 0) {
    const prefix = idKey(Table.Message, topic.id);
    for (const { value } of r.range({ start: prefix, end: prefixEnd(prefix), limit: DROPS_PER_APPEND })) {
      if (!isAged(topic, value, nowMs)) break;
      messages--;
      bytes -= messageDataBytes(value);
      if (!overLimit(topic, messages, bytes)) return;
    }
  }
  throw new BrokerError(
    "BACKLOG_FULL",
    `topic "${topic.name}" is full (max_messages ${topic.maxMessages || "unlimited"}, max_bytes ${topic.maxBytes || "unlimited"}); its overflow policy rejects new messages`,
    { metadata: { topic: topic.name, max_messages: String(topic.maxMessages), max_bytes: String(topic.maxBytes) } },
  );
}

/**
 * The subscriptions of a topic as a drop sees them: live counters (written once by the caller)
 * and which are ordered.
 */
export interface TopicHolders {
  counters: Map<number, Counters>;
  ordered: ReadonlySet<number>;
}

/** Reads the holders of a topic: its subscriptions' counters and ordered flags. */
export function readTopicHolders(r: KvReader, topicId: number): TopicHolders {
  const counters = new Map<number, Counters>();
  const ordered = new Set<number>();
  for (const t of fanOutTargets(r, topicId)) {
    counters.set(t.subId, readCounters(r, t.subId));
    if (t.ordered) ordered.add(t.subId);
  }
  return { counters, ordered };
}

/** Writes back the counters {@link readTopicHolders} loaded (and the drops changed). */
export function writeHolderCounters(w: KvWriter, holders: TopicHolders): void {
  for (const [subId, c] of holders.counters) writeCounters(w, subId, c);
}

/**
 * Removes one stored message from the log and from every subscription holding it (ordered ones
 * pass its key on to the next message).
 */
export function dropFromLog(
  w: KvWriter,
  topic: TopicRecord,
  head: Head,
  holders: TopicHolders,
  seq: number,
  raw: Buffer,
  nowMs: number,
): void {
  for (const [subId, c] of holders.counters) {
    const ordered = holders.ordered.has(subId);
    dropFromSubscription(w, { id: subId, topicId: topic.id }, ordered, seq, raw, nowMs, c);
  }
  deleteMessage(w, topic, head, seq, nowMs);
}

/** Drops the lowest seqs while `should` holds for the next one, at most `limit`. */
function dropOldest(
  w: KvWriter,
  topic: TopicRecord,
  head: Head,
  holders: TopicHolders,
  nowMs: number,
  limit: number,
  should: (raw: Buffer) => boolean,
): number {
  const prefix = idKey(Table.Message, topic.id);
  let n = 0;
  while (n < limit) {
    // The first look is one entry: on most appends nothing is due, and values are whole messages.
    const batch = w.range({ start: prefix, end: prefixEnd(prefix), limit: Math.min(n === 0 ? 1 : 256, limit - n) });
    if (batch.length === 0) return n;
    for (const { key, value } of batch) {
      if (!should(value)) return n;
      dropFromLog(w, topic, head, holders, readU64(key, 5), value, nowMs);
      n++;
    }
  }
  return n;
}

/**
 * After an append (or in the sweep): drops messages past the max age, then, under drop_oldest,
 * the oldest until the topic is within its limits; at most `limit` in all. Returns how many.
 */
export function enforceLimits(
  w: KvWriter,
  topic: TopicRecord,
  head: Head,
  holders: TopicHolders,
  nowMs: number,
  limit = DROPS_PER_APPEND,
): number {
  let n = 0;
  if (topic.maxAgeMs > 0) {
    n += dropOldest(w, topic, head, holders, nowMs, limit, (raw) => isAged(topic, raw, nowMs));
  }
  if (topic.overflow === "drop_oldest" && (topic.maxMessages > 0 || topic.maxBytes > 0)) {
    n += dropOldest(w, topic, head, holders, nowMs, limit - n, () => overLimit(topic, head.messages, head.bytes));
  }
  return n;
}

/** Read-only: does any limited topic have a message to drop now? */
export function limitsDue(r: KvReader, nowMs: number): boolean {
  const start = tableKey(Table.LimitedTopic);
  for (const { key } of r.range({ start, end: prefixEnd(start) })) {
    const topic = topicById(r, key.readUInt32BE(1));
    if (!topic) return true; // a stale index entry to clean up
    const head = readHead(r, topic.id);
    if (topic.overflow === "drop_oldest" && overLimit(topic, head.messages, head.bytes)) return true;
    const prefix = idKey(Table.Message, topic.id);
    const [oldest] = r.range({ start: prefix, end: prefixEnd(prefix), limit: 1 });
    if (oldest && isAged(topic, oldest.value, nowMs)) return true;
  }
  return false;
}

/** Is there anything for the retention sweep at all (now or later)? */
export function hasLimitedTopics(r: KvReader): boolean {
  const start = tableKey(Table.LimitedTopic);
  return r.range({ start, end: prefixEnd(start), limit: 1 }).length > 0;
}

/** Applies age and drop_oldest limits to every limited topic, at most `budget` drops in all. */
export function sweepLimits(
  w: KvWriter,
  nowMs: number,
  budget: number,
  changed: Set<string>,
): { removed: number; more: boolean } {
  const start = tableKey(Table.LimitedTopic);
  let removed = 0;
  for (const { key } of w.range({ start, end: prefixEnd(start) })) {
    if (removed >= budget) return { removed, more: true };
    const topicId = key.readUInt32BE(1);
    const topic = topicById(w, topicId);
    if (!topic || !isLimited(topic)) {
      w.del(key);
      continue;
    }
    const head = readHead(w, topicId);
    const holders = readTopicHolders(w, topicId);
    const n = enforceLimits(w, topic, head, holders, nowMs, budget - removed);
    if (n === 0) continue;
    removed += n;
    changed.add(topic.name);
    writeHead(w, topicId, head);
    writeHolderCounters(w, holders);
  }
  // Exactly at the budget: there may be more, and the next call finds out at little cost.
  return { removed, more: budget > 0 && removed >= budget };
}
