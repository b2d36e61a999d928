/**
 * Topic limits: `max_messages` and `max_bytes` with an overflow policy (reject, or drop the
 * oldest), and `max_age_ms`. Reject is checked before an append writes anything; drops happen
 * after it (the new messages may push the oldest out), and the retention sweep applies age and
 * limits that changed since. A dropped message leaves the log and every subscription, with their
 * counters (see {@link dropFromLog}).
 */
import { BrokerError } from "../../errors/index.js";
import type { KvReader } from "../kv/kv.js";
import type { TopicRecord } from "../store.js";
import { idKey, keyId, keySeq, prefixEnd, Table, tableKey } from "./keys.js";
import { messageAttributes, messageDataBytes, messageMeta, messagePublishTime } from "./message-codec.js";
import { leaveLine } from "./ordering-lines.js";
import { deleteMessage, isGone, liveKeys } from "./release.js";
import type { EngineState, TopicState } from "./state.js";
import { StepBudget } from "./step-budget.js";
import type { Tx } from "./tx.js";

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
export function indexTopicLimits(tx: Tx, topic: TopicRecord): void {
  if (isLimited(topic)) tx.w.put(idKey(Table.LimitedTopic, topic.id), EMPTY);
  else tx.w.del(idKey(Table.LimitedTopic, topic.id));
}

/** The keys of the first stored messages of a topic's log (from its start), at most `limit`. */
function oldest(r: KvReader, t: TopicState, limit: number): Buffer[] {
  return liveKeys(r, t, t.head.logStart, t.head.lastSeq + 1, limit);
}

/**
 * Refuses an append that would pass a limit under the reject policy (BACKLOG_FULL). Read-only:
 * runs before the append writes. Messages past the max age count as gone (the append drops them).
 */
export function checkCapacity(tx: Tx, t: TopicState, adding: { messages: number; bytes: number }): void {
  const topic = t.record;
  if (topic.overflow !== "reject" || adding.messages === 0) return;
  let messages = t.head.messages + adding.messages;
  let bytes = t.head.bytes + adding.bytes;
  if (!overLimit(topic, messages, bytes)) return;
  if (topic.maxAgeMs > 0) {
    const budget = new StepBudget(DROPS_PER_APPEND);
    for (const key of oldest(tx.w, t, DROPS_PER_APPEND)) {
      const value = tx.w.view(key); // the header only: no copy of the message
      if (!value || budget.spent || !isAged(topic, value, tx.nowMs)) break;
      budget.take(value.length);
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
 * Removes one stored message from the log and from every subscription holding it: a tracked
 * message stops being tracked (an ordered subscription passes its key on), and each holder's
 * count goes down. `raw` may be a view (KvReader.view): it is read before any other read.
 */
export function dropFromLog(tx: Tx, t: TopicState, seq: number, raw: Buffer): void {
  if (isGone(t, seq)) return; // released (or purged): it left already
  const meta = messageMeta(raw);
  let attrs: Record<string, string> | undefined;
  const attributes = () => {
    attrs ??= messageAttributes(raw);
    return attrs;
  };
  for (const c of t.cursors.values()) {
    const e = c.tracked.get(seq);
    const held = e !== undefined || c.holds(seq, meta.priority, meta.onlyFor, attributes);
    if (e) {
      c.untrack(e);
      leaveLine(c, seq, e.key, tx.nowMs);
    }
    c.forget(seq);
    if (!held) continue;
    c.countOut(seq);
    tx.touchCursor(c);
  }
  deleteMessage(tx, t, seq, meta);
  tx.changedTopics.add(t.name);
}

/** Drops the lowest seqs while `should` holds for the next one, within the budget. */
function dropOldest(tx: Tx, t: TopicState, budget: StepBudget, should: (raw: Buffer) => boolean): number {
  let n = 0;
  while (!budget.spent) {
    // The first look is one key: on most appends nothing is due. Of each message only its
    // header is read (a view), and the bytes count against the budget.
    const keys = oldest(tx.w, t, Math.min(n === 0 ? 1 : 256, budget.entries));
    if (keys.length === 0) return n;
    for (const key of keys) {
      if (budget.spent) return n;
      const raw = tx.w.view(key);
      if (!raw) continue;
      if (!should(raw)) return n;
      budget.take(raw.length);
      dropFromLog(tx, t, keySeq(key), raw);
      n++;
    }
  }
  return n;
}

/**
 * After an append (or in the sweep): drops messages past the max age, then, under drop_oldest,
 * the oldest until the topic is within its limits, within the budget. Returns how many.
 */
export function enforceLimits(tx: Tx, t: TopicState, budget = new StepBudget(DROPS_PER_APPEND)): number {
  const topic = t.record;
  let n = 0;
  if (topic.maxAgeMs > 0) n += dropOldest(tx, t, budget, (raw) => isAged(topic, raw, tx.nowMs));
  if (topic.overflow === "drop_oldest" && (topic.maxMessages > 0 || topic.maxBytes > 0)) {
    n += dropOldest(tx, t, budget, () => overLimit(topic, t.head.messages, t.head.bytes));
  }
  return n;
}

/** Read-only: does any limited topic have a message to drop now? */
export function limitsDue(r: KvReader, state: EngineState, nowMs: number): boolean {
  const start = tableKey(Table.LimitedTopic);
  for (const { key } of r.range({ start, end: prefixEnd(start) })) {
    const t = state.topicsById.get(keyId(key));
    if (!t) return true; // a stale index entry to clean up
    if (t.record.overflow === "drop_oldest" && overLimit(t.record, t.head.messages, t.head.bytes)) return true;
    const [first] = oldest(r, t, 1);
    const value = first && r.view(first);
    if (value && isAged(t.record, value, nowMs)) return true;
  }
  return false;
}

/** Is there anything for the retention sweep at all (now or later)? */
export function hasLimitedTopics(r: KvReader): boolean {
  const start = tableKey(Table.LimitedTopic);
  return r.range({ start, end: prefixEnd(start), limit: 1 }).length > 0;
}

/** Applies age and drop_oldest limits to every limited topic, within the budget. */
export function sweepLimits(tx: Tx, budget: StepBudget): { removed: number; more: boolean } {
  const start = tableKey(Table.LimitedTopic);
  let removed = 0;
  for (const key of tx.w.keys({ start, end: prefixEnd(start) })) {
    if (budget.spent) return { removed, more: true };
    const t = tx.state.topicsById.get(keyId(key));
    if (!t || !isLimited(t.record)) {
      tx.w.del(key);
      continue;
    }
    removed += enforceLimits(tx, t, budget);
  }
  // Exactly at the budget: there may be more, and the next call finds out at little cost.
  return { removed, more: budget.spent };
}
