import { BrokerError } from "../../errors/index.js";
import type { StartPosition, SubscriptionSettings, TopicSettings } from "../../model/index.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import { encodeFanOut, matchesFilter } from "./fan-out.js";
import {
  dueKey,
  encodeU32,
  idKey,
  keyAfter,
  pairKey,
  prefixEnd,
  readU64,
  readyKey,
  seqKey,
  stringKey,
  Table,
} from "./keys.js";
import { decodeMessage } from "./message-codec.js";
import { ORDERING_TABLES, waitsBehindKey } from "./ordering.js";
import {
  allocateId,
  type Counters,
  encodePending,
  findSubscription,
  findTopic,
  type Head,
  putSubscription,
  putTopic,
  readCounters,
  readHead,
  requireSubscription,
  requireTopic,
  subscriptionById,
  topicById,
  writeCounters,
  writeHead,
} from "./records.js";
import { releaseMessage } from "./retention.js";
import { deleteTopicSnapshots } from "./snapshots.js";
import { indexTopicLimits } from "./topic-limits.js";

const EMPTY = Buffer.alloc(0);

function u32(n: number): Buffer {
  return encodeU32(n);
}

/** Keys strictly after `after` in a name table. */
function nameRangeStart(table: Table, after: string): Buffer {
  return after === "" ? stringKey(table, "") : keyAfter(stringKey(table, after));
}

export function createTopicRecord(
  w: KvWriter,
  settings: TopicSettings,
  nowMs: number,
  queueSubscription?: SubscriptionSettings,
): { topic: TopicRecord; subscription?: SubscriptionRecord } {
  if (findTopic(w, settings.name)) {
    throw new BrokerError("ALREADY_EXISTS", `topic "${settings.name}" already exists`, {
      metadata: { topic: settings.name },
    });
  }
  if (queueSubscription && findSubscription(w, queueSubscription.name)) {
    throw new BrokerError("ALREADY_EXISTS", `subscription "${queueSubscription.name}" already exists`, {
      metadata: { subscription: queueSubscription.name },
    });
  }
  const topic: TopicRecord = { ...settings, id: allocateId(w, "topic"), createTimeMs: nowMs };
  w.put(stringKey(Table.TopicName, topic.name), u32(topic.id));
  putTopic(w, topic);
  indexTopicLimits(w, topic);
  writeHead(w, topic.id, { lastSeq: 0, messages: 0, bytes: 0 });
  if (!queueSubscription) return { topic };
  return { topic, subscription: createSubscriptionRecord(w, queueSubscription, nowMs) };
}

export function listTopicRecords(r: KvReader, after: string, limit: number): TopicRecord[] {
  const start = nameRangeStart(Table.TopicName, after);
  const entries = r.range({ start, end: prefixEnd(Buffer.of(Table.TopicName)), limit });
  return entries.map((e) => topicById(r, e.value.readUInt32BE(0))).filter((t): t is TopicRecord => t !== undefined);
}

export function updateTopicRecord(w: KvWriter, name: string, settings: TopicSettings): TopicRecord {
  const t = requireTopic(w, name);
  const updated: TopicRecord = { ...t, ...settings, name: t.name, id: t.id, createTimeMs: t.createTimeMs };
  putTopic(w, updated);
  indexTopicLimits(w, updated);
  return updated;
}

export function deleteTopicRecord(w: KvWriter, name: string, nowMs: number): void {
  const topic = requireTopic(w, name);
  for (const sub of subscriptionsOfTopic(w, topic.id)) removeSubscription(w, sub, topic, nowMs);
  for (const table of [Table.Message, Table.Ref, Table.MessageId]) deletePrefix(w, idKey(table, topic.id));
  deleteTopicSnapshots(w, topic.id);
  w.del(idKey(Table.LimitedTopic, topic.id));
  w.del(idKey(Table.Head, topic.id));
  w.del(idKey(Table.Topic, topic.id));
  w.del(stringKey(Table.TopicName, topic.name));
}

export function purgeTopicRecords(w: KvWriter, name: string): number {
  const topic = requireTopic(w, name);
  for (const sub of subscriptionsOfTopic(w, topic.id)) {
    for (const table of [Table.Ready, Table.Pending, Table.Due, ...ORDERING_TABLES])
      deletePrefix(w, idKey(table, sub.id));
    writeCounters(w, sub.id, { unacked: 0, inFlight: 0, delayed: 0 });
  }
  const purged = deletePrefix(w, idKey(Table.Message, topic.id));
  deletePrefix(w, idKey(Table.Ref, topic.id));
  deletePrefix(w, idKey(Table.MessageId, topic.id));
  const head = readHead(w, topic.id);
  writeHead(w, topic.id, { lastSeq: head.lastSeq, messages: 0, bytes: 0 });
  return purged;
}

function deletePrefix(w: KvWriter, prefix: Buffer): number {
  let n = 0;
  for (;;) {
    const batch = w.range({ start: prefix, end: prefixEnd(prefix), limit: 1000 });
    if (batch.length === 0) return n;
    for (const { key } of batch) w.del(key);
    n += batch.length;
  }
}

export function subscriptionsOfTopic(r: KvReader, topicId: number): SubscriptionRecord[] {
  const start = idKey(Table.TopicSubscription, topicId);
  return r
    .range({ start, end: prefixEnd(start) })
    .map((e) => subscriptionById(r, e.key.readUInt32BE(5)))
    .filter((s): s is SubscriptionRecord => s !== undefined);
}

export function createSubscriptionRecord(
  w: KvWriter,
  settings: SubscriptionSettings,
  nowMs: number,
): SubscriptionRecord {
  const topic = requireTopic(w, settings.topic);
  if (findSubscription(w, settings.name)) {
    throw new BrokerError("ALREADY_EXISTS", `subscription "${settings.name}" already exists`, {
      metadata: { subscription: settings.name },
    });
  }
  const sub: SubscriptionRecord = {
    ...settings,
    id: allocateId(w, "subscription"),
    topicId: topic.id,
    createTimeMs: nowMs,
  };
  w.put(stringKey(Table.SubscriptionName, sub.name), u32(sub.id));
  putSubscription(w, sub);
  w.put(pairKey(Table.TopicSubscription, topic.id, sub.id), encodeFanOut(sub.filter, sub.ordered));
  const c: Counters = { unacked: 0, inFlight: 0, delayed: 0 };
  materializeFrom(w, topic, sub, settings.start, nowMs, c);
  writeCounters(w, sub.id, c);
  return sub;
}

/**
 * Makes the stored messages from the start position on available to a new subscription (an
 * ordered one: the first of each ordering key; the later ones wait behind it).
 */
function materializeFrom(
  w: KvWriter,
  topic: TopicRecord,
  sub: SubscriptionRecord,
  start: StartPosition,
  nowMs: number,
  c: Counters,
): void {
  if (start.kind === "latest") return;
  let from = seqKey(Table.Message, topic.id, start.kind === "seq" ? Math.max(1, start.seq) : 1);
  const end = prefixEnd(idKey(Table.Message, topic.id));
  for (;;) {
    const batch = w.range({ start: from, end, limit: 1000 });
    if (batch.length === 0) return;
    for (const { key, value } of batch) {
      const seq = readU64(key, 5);
      const m = decodeMessage(value, topic.name, seq);
      if (start.kind === "time" && m.publishTimeMs < start.timeMs) continue;
      if (m.expireAtMs > 0 && m.expireAtMs <= nowMs) continue;
      if (!matchesFilter(sub.filter, m.attributes)) continue;
      const refKey = seqKey(Table.Ref, topic.id, seq);
      const refs = w.get(refKey);
      w.put(refKey, u32((refs ? refs.readUInt32BE(0) : 1) + 1)); // a stored message without a Ref key has one holder
      c.unacked++;
      const line = { seq, priority: m.priority, deliverAtMs: m.deliverAtMs };
      if (sub.ordered && waitsBehindKey(w, sub.id, Buffer.from(m.orderingKey), line)) continue;
      if (m.deliverAtMs > nowMs) {
        c.delayed++;
        const p = { state: "delayed", dueMs: m.deliverAtMs, attempt: 0, priority: m.priority } as const;
        w.put(seqKey(Table.Pending, sub.id, seq), encodePending(p));
        w.put(dueKey(sub.id, m.deliverAtMs, seq), EMPTY);
      } else {
        w.put(readyKey(sub.id, m.priority, seq), u32(0));
      }
    }
    from = keyAfter((batch[batch.length - 1] as { key: Buffer }).key);
  }
}

export function listSubscriptionRecords(r: KvReader, topic: string, after: string, limit: number) {
  if (topic !== "") {
    // One topic: its subscription index, in the name table's (UTF-8 byte) order.
    const t = findTopic(r, topic);
    if (!t) return [];
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return subscriptionsOfTopic(r, t.id)
      .filter((s) => byBytes(s.name, after) > 0)
      .sort((a, b) => byBytes(a.name, b.name))
      .slice(0, limit);
  }
  return allSubscriptionsAfter(r, after, limit);
}

/** Every subscription in name order, names > `after`. */
function allSubscriptionsAfter(r: KvReader, after: string, limit: number): SubscriptionRecord[] {
  const start = nameRangeStart(Table.SubscriptionName, after);
  const entries = r.range({ start, end: prefixEnd(Buffer.of(Table.SubscriptionName)), limit });
  return entries
    .map((e) => subscriptionById(r, e.value.readUInt32BE(0)))
    .filter((s): s is SubscriptionRecord => s !== undefined);
}

export function updateSubscriptionRecord(w: KvWriter, name: string, settings: SubscriptionSettings) {
  const s = requireSubscription(w, name);
  const updated: SubscriptionRecord = {
    ...s,
    ...settings,
    name: s.name,
    topic: s.topic,
    id: s.id,
    topicId: s.topicId,
    createTimeMs: s.createTimeMs,
  };
  putSubscription(w, updated);
  return updated;
}

export function deleteSubscriptionRecord(w: KvWriter, name: string, nowMs: number): void {
  const sub = requireSubscription(w, name);
  const topic = topicById(w, sub.topicId);
  if (topic) removeSubscription(w, sub, topic, nowMs);
}

/** Releases every message the subscription holds, then removes it. */
function removeSubscription(w: KvWriter, sub: SubscriptionRecord, topic: TopicRecord, nowMs: number): void {
  const head: Head = readHead(w, topic.id);
  for (const table of [Table.Ready, Table.Pending, Table.OrderWaiting]) {
    const prefix = idKey(table, sub.id);
    for (;;) {
      const batch = w.range({ start: prefix, end: prefixEnd(prefix), limit: 1000 });
      if (batch.length === 0) break;
      for (const { key } of batch) {
        w.del(key);
        releaseMessage(w, topic, head, readU64(key, table === Table.Ready ? 6 : 5), nowMs);
      }
    }
  }
  deletePrefix(w, idKey(Table.Due, sub.id));
  for (const table of ORDERING_TABLES) deletePrefix(w, idKey(table, sub.id));
  writeHead(w, topic.id, head);
  w.del(idKey(Table.Counters, sub.id));
  w.del(idKey(Table.DeadLettered, sub.id));
  w.del(pairKey(Table.TopicSubscription, topic.id, sub.id));
  w.del(idKey(Table.Subscription, sub.id));
  w.del(stringKey(Table.SubscriptionName, sub.name));
}

export { findSubscription, findTopic, readCounters };
