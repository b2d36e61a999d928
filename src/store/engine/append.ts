import { invalidArgument } from "../../errors/index.js";
import { type KvReader, type KvWriter, MAX_KEY_BYTES } from "../kv/kv.js";
import type { AppendRecord, AppendResult, TopicRecord } from "../store.js";
import { fanOutTargets, matchingSubIds } from "./fan-out.js";
import { formatGeneratedId } from "./generated-id.js";
import {
  dedupExpiryKey,
  dueKey,
  encodeF64s,
  encodeU32,
  idKey,
  idStringKey,
  parseDedupExpiryKey,
  prefixEnd,
  readyKey,
  seqKey,
  Table,
  tableKey,
} from "./keys.js";
import { encodeMessage } from "./message-codec.js";
import { waitsBehindKey } from "./ordering.js";
import {
  type Counters,
  encodePending,
  type Head,
  readCounters,
  readHead,
  readMessageIdEntry,
  requireTopic,
  writeCounters,
  writeHead,
} from "./records.js";
import { holderCount, retainMessage } from "./retain.js";
import { checkCapacity, enforceLimits, type TopicHolders } from "./topic-limits.js";
import { indexTtl } from "./ttl.js";

const SWEEP_PER_APPEND = 64;
/** Longest message id: the longest key holding one, [DedupExpiry][u64][u32][id], must fit the KV. */
export const MAX_ID_BYTES = MAX_KEY_BYTES - 13;
/** Length fields of the message encoding (see message-codec.ts). */
const U16_MAX = 0xffff;

/**
 * Refuses what the engine cannot store before anything is written: a throw inside a KV write
 * does not roll back earlier puts, so a late failure would leave half a batch behind.
 */
function validateRecords(records: readonly AppendRecord[]): void {
  records.forEach((r, i) => {
    const fail = (what: string, field: string) => invalidArgument(`message ${i}: ${what}`, field);
    if (Buffer.byteLength(r.id) > MAX_ID_BYTES) throw fail(`id is longer than ${MAX_ID_BYTES} bytes`, "id");
    if (!Number.isInteger(r.priority) || r.priority < 0 || r.priority > 9)
      throw fail("priority is not 0..9", "priority");
    if (Buffer.byteLength(r.orderingKey) > U16_MAX) throw fail("ordering key is too long", "ordering_key");
    const keys = Object.keys(r.attributes);
    if (keys.length > U16_MAX || keys.some((k) => Buffer.byteLength(k) > U16_MAX)) {
      throw fail("too many or too long attributes", "attributes");
    }
  });
}

/** Subscription ids of a topic. */
export function topicSubscriptionIds(w: KvReader, topicId: number): number[] {
  const start = idKey(Table.TopicSubscription, topicId);
  return w.range({ start, end: prefixEnd(start) }).map((e) => e.key.readUInt32BE(5));
}

/** Is this id a duplicate within the topic's dedup scope? Returns the original seq if so. */
function duplicateSeq(w: KvWriter, topic: TopicRecord, id: string, nowMs: number): number | undefined {
  const entry = readMessageIdEntry(w.get(idStringKey(Table.MessageId, topic.id, id)));
  if (!entry) return undefined;
  if (topic.dedupScope === "unacked") {
    // A retained message (no holder left) counts as acked.
    const stored = w.get(seqKey(Table.Message, topic.id, entry.seq));
    return stored && holderCount(w, topic.id, entry.seq) > 0 ? entry.seq : undefined;
  }
  return entry.publishMs + topic.dedupWindowMs > nowMs ? entry.seq : undefined;
}

/**
 * Does an append to `topic` store a message that these subscriptions would hold? Yes when one
 * does, or when the topic keeps messages for replay (retain_acked) even with none.
 */
export function keepsMessage(topic: TopicRecord, holderSubIds: readonly number[]): boolean {
  return holderSubIds.length > 0 || topic.retainAckedMs > 0;
}

/** Appends records to a topic's log and fans them out to its subscriptions. */
export function appendRecords(
  w: KvWriter,
  topicName: string,
  records: readonly AppendRecord[],
  nowMs: number,
): AppendResult[] {
  const topic = requireTopic(w, topicName);
  validateRecords(records);
  const head = readHead(w, topic.id);
  const targets = fanOutTargets(w, topic.id);
  const filtered = targets.some((t) => t.filter !== undefined);
  const allSubIds = targets.map((t) => t.subId);
  const counters = new Map<number, Counters>(allSubIds.map((id) => [id, readCounters(w, id)]));
  const holders = { counters, ordered: new Set(targets.filter((t) => t.ordered).map((t) => t.subId)) };
  const holdersOf = (r: AppendRecord) => (filtered ? matchingSubIds(targets, r.attributes) : allSubIds);
  const stores = (subIds: readonly number[]) => keepsMessage(topic, subIds);
  checkCapacity(
    w,
    topic,
    head,
    newTotals(w, topic, records, (r) => stores(holdersOf(r)), nowMs),
    nowMs,
  );
  const results: AppendResult[] = [];
  for (const r of records) {
    // Subscriptions whose filter the message fails never see it (as if acked at publish).
    const subIds = holdersOf(r);
    if (r.id === "") {
      const seq = ++head.lastSeq;
      const id = formatGeneratedId(topic.id, seq);
      results.push({ seq, id, duplicate: false });
      if (stores(subIds)) storeMessage(w, topic, subIds, holders, head, { ...r, id }, seq, nowMs);
      continue;
    }
    const dup = duplicateSeq(w, topic, r.id, nowMs);
    if (dup !== undefined) {
      results.push({ seq: dup, id: r.id, duplicate: true });
      continue;
    }
    const seq = ++head.lastSeq;
    results.push({ seq, id: r.id, duplicate: false });
    const keepWindow = topic.dedupScope === "window";
    const expireMs = keepWindow ? nowMs + topic.dedupWindowMs : 0;
    if (keepWindow) w.put(dedupExpiryKey(expireMs, topic.id, r.id), EMPTY);
    // With no subscription nothing is stored: keep the id entry only for a dedup window.
    if (!stores(subIds) && !keepWindow) continue;
    w.put(idStringKey(Table.MessageId, topic.id, r.id), encodeF64s(seq, nowMs, expireMs));
    if (stores(subIds)) storeMessage(w, topic, subIds, holders, head, r, seq, nowMs);
  }
  enforceLimits(w, topic, head, holders, nowMs);
  writeHead(w, topic.id, head);
  for (const [subId, c] of counters) writeCounters(w, subId, c);
  sweepDedup(w, nowMs);
  return results;
}

/**
 * Writes one message to the log and makes it available (or delayed) on every subscription; on an
 * ordered subscription it waits instead while its ordering key has an active message.
 */
function storeMessage(
  w: KvWriter,
  topic: TopicRecord,
  subIds: readonly number[],
  { counters, ordered }: TopicHolders,
  head: Head,
  r: AppendRecord,
  seq: number,
  nowMs: number,
): void {
  w.put(seqKey(Table.Message, topic.id, seq), encodeMessage({ ...r, publishTimeMs: nowMs }));
  indexTtl(w, topic.id, seq, r.expireAtMs);
  // No Ref key means one holder: a queue's messages need no refcount write.
  if (subIds.length > 1) w.put(seqKey(Table.Ref, topic.id, seq), encodeU32(subIds.length));
  head.messages++;
  head.bytes += r.data.length;
  if (subIds.length === 0) retainMessage(w, topic, seq, nowMs); // no holder: kept for replay
  const delayed = r.deliverAtMs > nowMs;
  const key = ordered.size > 0 && r.orderingKey !== "" ? Buffer.from(r.orderingKey) : undefined;
  for (const subId of subIds) {
    const c = counters.get(subId) as Counters;
    c.unacked++;
    if (
      key &&
      ordered.has(subId) &&
      waitsBehindKey(w, subId, key, { seq, priority: r.priority, deliverAtMs: r.deliverAtMs })
    )
      continue;
    if (delayed) {
      c.delayed++;
      const p = { state: "delayed", dueMs: r.deliverAtMs, attempt: 0, priority: r.priority } as const;
      w.put(seqKey(Table.Pending, subId, seq), encodePending(p));
      w.put(dueKey(subId, r.deliverAtMs, seq), EMPTY);
    } else {
      w.put(readyKey(subId, r.priority, seq), encodeU32(0));
    }
  }
}

const EMPTY = Buffer.alloc(0);

/** Messages and data bytes an append would store (duplicates excluded), for the limit check. */
function newTotals(
  w: KvWriter,
  topic: TopicRecord,
  records: readonly AppendRecord[],
  stored: (r: AppendRecord) => boolean,
  nowMs: number,
) {
  const totals = { messages: 0, bytes: 0 };
  if (topic.overflow !== "reject" || (topic.maxMessages === 0 && topic.maxBytes === 0)) return totals;
  const seen = new Set<string>();
  for (const r of records) {
    if (!stored(r)) continue;
    if (r.id !== "" && (seen.has(r.id) || duplicateSeq(w, topic, r.id, nowMs) !== undefined)) continue;
    if (r.id !== "") seen.add(r.id);
    totals.messages++;
    totals.bytes += r.data.length;
  }
  return totals;
}

/** Drops dedup id entries whose window has passed and whose message is gone (bounded per call). */
export function sweepDedup(w: KvWriter, nowMs: number): void {
  const start = tableKey(Table.DedupExpiry);
  const end = dedupExpiryKey(nowMs + 1, 0, "");
  for (const { key } of w.range({ start, end, limit: SWEEP_PER_APPEND })) {
    w.del(key);
    const { topicId, id } = parseDedupExpiryKey(key);
    const idKeyBuf = idStringKey(Table.MessageId, topicId, id);
    const entry = readMessageIdEntry(w.get(idKeyBuf));
    if (!entry || entry.expireMs > nowMs) continue;
    if (!w.get(seqKey(Table.Message, topicId, entry.seq))) w.del(idKeyBuf);
  }
}
