/**
 * Topics and subscriptions: creation, update, deletion, listing. A subscription is a cursor:
 * creating one at an earlier position, purging a topic and deleting a subscription or a topic
 * move cursors and leave the work over the log to bounded job steps (jobs.ts).
 */

import { BrokerError } from "../../errors/index.js";
import type { StartPosition, SubscriptionSettings, TopicSettings } from "../../model/index.js";
import type { KvReader } from "../kv/kv.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import { Cursor } from "./cursor.js";
import { cursorPrefixes } from "./cursor-store.js";
import { encodeFanOut } from "./fan-out.js";
import type { Jobs } from "./jobs.js";
import { topicPrefixes } from "./jobs.js";
import { idKey, keyAfter, logEndKey, pairKey, prefixEnd, stringKey, Table } from "./keys.js";
import { seqAtTimeIn } from "./read-log.js";
import { settleReleased } from "./seek.js";
import { type EngineState, subscriptionRecordCopy, TopicState, topicRecordCopy } from "./state.js";
import { decodeU32, encodeU32 } from "./table-values.js";
import { indexTopicLimits } from "./topic-limits.js";
import type { Tx } from "./tx.js";

/** Allocates the next id of a kind ("topic", "subscription", "snapshot"); never repeats. */
export function allocateId(tx: Tx, kind: string): number {
  const key = stringKey(Table.IdAllocator, kind);
  const next = decodeU32(tx.w.get(key)) + 1;
  tx.w.put(key, encodeU32(next));
  return next;
}

function alreadyExists(kind: "topic" | "subscription", name: string): BrokerError {
  return new BrokerError("ALREADY_EXISTS", `${kind} "${name}" already exists`, { metadata: { [kind]: name } });
}

function putTopic(tx: Tx, t: TopicRecord): void {
  tx.w.put(idKey(Table.Topic, t.id), Buffer.from(JSON.stringify(t)));
}

function putSubscription(tx: Tx, s: SubscriptionRecord): void {
  tx.w.put(idKey(Table.Subscription, s.id), Buffer.from(JSON.stringify(s)));
}

/** Creates a topic (and, with `queueSubscription`, its same-name subscription in the same write). */
export function createTopicRecord(
  tx: Tx,
  jobs: Jobs,
  settings: TopicSettings,
  queueSubscription?: SubscriptionSettings,
): { topic: TopicRecord; subscription?: SubscriptionRecord } {
  if (tx.state.topics.has(settings.name)) throw alreadyExists("topic", settings.name);
  if (queueSubscription && tx.state.cursors.has(queueSubscription.name)) {
    throw alreadyExists("subscription", queueSubscription.name);
  }
  const record: TopicRecord = { ...settings, id: allocateId(tx, "topic"), createTimeMs: tx.nowMs };
  const t = new TopicState(record, { lastSeq: 0, messages: 0, bytes: 0, logStart: 1 });
  t.laneLast.fill(0); // a new log: no lane holds anything
  t.dueLast = 0; // and nothing is delayed
  tx.w.put(stringKey(Table.TopicName, record.name), encodeU32(record.id));
  tx.w.put(logEndKey(record.id), Buffer.alloc(0));
  putTopic(tx, record);
  indexTopicLimits(tx, record);
  tx.state.addTopic(t);
  tx.touchHead(t);
  if (!queueSubscription) return { topic: topicRecordCopy(t) };
  return { topic: topicRecordCopy(t), subscription: createSubscriptionRecord(tx, jobs, queueSubscription) };
}

/** Topics in name (UTF-8 byte) order, names > `after`. */
export function listTopicRecords(r: KvReader, state: EngineState, after: string, limit: number): TopicRecord[] {
  const start = after === "" ? stringKey(Table.TopicName, "") : keyAfter(stringKey(Table.TopicName, after));
  const out: TopicRecord[] = [];
  for (const { value } of r.range({ start, end: prefixEnd(Buffer.of(Table.TopicName)), limit })) {
    const t = state.topicsById.get(decodeU32(value));
    if (t) out.push(topicRecordCopy(t));
  }
  return out;
}

/** Replaces a topic's settings (name, id and creation time stay). */
export function updateTopicRecord(tx: Tx, name: string, settings: TopicSettings): TopicRecord {
  const t = tx.state.requireTopic(name);
  const r = t.record;
  t.record = { ...r, ...settings, name: r.name, id: r.id, createTimeMs: r.createTimeMs };
  putTopic(tx, t.record);
  indexTopicLimits(tx, t.record);
  return topicRecordCopy(t);
}

/** Removes a subscription's records; its log work goes to jobs. */
function removeSubscription(tx: Tx, jobs: Jobs, c: Cursor): void {
  const w = tx.w;
  tx.state.removeCursor(c);
  w.del(stringKey(Table.SubscriptionName, c.record.name));
  w.del(idKey(Table.Subscription, c.id));
  w.del(pairKey(Table.TopicSubscription, c.record.topicId, c.id));
  w.del(idKey(Table.Cursor, c.id));
  jobs.start(tx, { kind: "drop", prefixes: cursorPrefixes(c.id).map((p) => p.toString("hex")) });
}

/** Deletes a topic, its subscriptions and snapshots at once; its log goes in background steps. */
export function deleteTopicRecord(tx: Tx, jobs: Jobs, name: string): void {
  const t = tx.state.requireTopic(name);
  const w = tx.w;
  for (const c of [...t.cursors.values()]) removeSubscription(tx, jobs, c);
  for (const s of t.snapshots.values()) {
    w.del(stringKey(Table.SnapshotName, s.record.name));
    w.del(idKey(Table.Snapshot, s.record.id));
    w.del(pairKey(Table.TopicSnapshot, t.id, s.record.id));
    jobs.start(tx, { kind: "drop", prefixes: [idKey(Table.SnapshotRange, s.record.id).toString("hex")] });
  }
  w.del(stringKey(Table.TopicName, name));
  w.del(idKey(Table.Topic, t.id));
  w.del(idKey(Table.Head, t.id));
  w.del(idKey(Table.LimitedTopic, t.id));
  tx.state.removeTopic(t);
  jobs.start(tx, { kind: "drop", prefixes: topicPrefixes(t.id) });
}

/** Settles everything a cursor holds below `floor` and forgets what it tracks (purge). */
export function resetCursor(c: Cursor, floor: number): void {
  for (const e of [...c.tracked.values()]) c.untrack(e);
  for (const [seq, k] of c.known) if (k.persisted) c.dirtyStates.set(seq, null);
  c.known.clear();
  c.knownDue.clear();
  c.lines.clear();
  c.batches.clear();
  c.delays.clear();
  c.outgoing.clear();
  for (const l of c.lanes) l.reset(floor);
  c.unacked = 0;
  c.countFrom = 0;
  c.countTo = -1;
}

/** Drops every stored message from the log and every subscription; seqs keep counting. */
export function purgeTopicRecords(tx: Tx, jobs: Jobs, name: string): number {
  const t = tx.state.requireTopic(name);
  const purged = t.head.messages;
  const end = t.head.lastSeq + 1;
  for (const c of t.cursors.values()) {
    resetCursor(c, end);
    tx.touchCursor(c);
  }
  const from = t.head.logStart;
  t.head = { ...t.head, messages: 0, bytes: 0, logStart: end };
  t.released.removeBelow(end); // the purge job deletes their entries with the rest
  t.trimScan.removeBelow(end);
  t.trimScan.takeChanged();
  t.tail.dropRange(from, end - 1); // gone for delivery now; the job deletes their entries
  tx.touchHead(t);
  tx.changedTopics.add(t.name);
  jobs.start(tx, { kind: "purge", topicId: t.id, fromSeq: from, toSeq: end - 1 });
  return purged;
}

/** The first seq of a start position. */
function startSeq(tx: Tx, t: TopicState, start: StartPosition): number {
  switch (start.kind) {
    case "earliest":
      return t.head.logStart;
    case "latest":
      return t.head.lastSeq + 1;
    case "seq":
      return Math.max(1, t.head.logStart, start.seq);
    case "time":
      return seqAtTimeIn(tx.w, t, start.timeMs);
  }
}

/** Creates a subscription: a cursor at its start position; its backlog is counted in bounded steps. */
export function createSubscriptionRecord(tx: Tx, jobs: Jobs, settings: SubscriptionSettings): SubscriptionRecord {
  const t = tx.state.requireTopic(settings.topic);
  if (tx.state.cursors.has(settings.name)) throw alreadyExists("subscription", settings.name);
  const record: SubscriptionRecord = {
    ...settings,
    id: allocateId(tx, "subscription"),
    topicId: t.id,
    createTimeMs: tx.nowMs,
  };
  tx.w.put(stringKey(Table.SubscriptionName, record.name), encodeU32(record.id));
  putSubscription(tx, record);
  tx.w.put(pairKey(Table.TopicSubscription, t.id, record.id), encodeFanOut(record.filter, record.ordered));
  const from = startSeq(tx, t, settings.start);
  const c = new Cursor(record, from);
  // Released messages are gone: the new cursor settles them, so it neither counts nor reads them.
  if (from <= t.head.lastSeq)
    settleReleased(
      t,
      c.lanes.map((l) => l.ranges),
    );
  tx.state.addCursor(t, c);
  tx.touchCursor(c);
  // What is stored from the start on is this subscription's backlog: counted in bounded steps.
  if (from <= t.head.lastSeq) {
    c.countFrom = from;
    c.countTo = t.head.lastSeq;
    jobs.start(tx, { kind: "count", subId: c.id, fromSeq: from, toSeq: t.head.lastSeq });
  }
  return subscriptionRecordCopy(c);
}

/** Subscriptions in name order, names > `after`, of one topic ("" for all). */
export function listSubscriptionRecords(
  r: KvReader,
  state: EngineState,
  topic: string,
  after: string,
  limit: number,
): SubscriptionRecord[] {
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  if (topic !== "") {
    const t = state.topics.get(topic);
    if (!t) return [];
    return [...t.cursors.values()]
      .filter((c) => byBytes(c.record.name, after) > 0)
      .sort((a, b) => byBytes(a.record.name, b.record.name))
      .slice(0, limit)
      .map(subscriptionRecordCopy);
  }
  const start =
    after === "" ? stringKey(Table.SubscriptionName, "") : keyAfter(stringKey(Table.SubscriptionName, after));
  const out: SubscriptionRecord[] = [];
  for (const { value } of r.range({ start, end: prefixEnd(Buffer.of(Table.SubscriptionName)), limit })) {
    const c = state.cursorsById.get(decodeU32(value));
    if (c) out.push(subscriptionRecordCopy(c));
  }
  return out;
}

/** Replaces a subscription's settings (name, topic, ids and creation time stay). */
export function updateSubscriptionRecord(tx: Tx, name: string, settings: SubscriptionSettings): SubscriptionRecord {
  const c = tx.state.requireCursor(name);
  const s = c.record;
  c.record = {
    ...s,
    ...settings,
    name: s.name,
    topic: s.topic,
    id: s.id,
    topicId: s.topicId,
    createTimeMs: s.createTimeMs,
  };
  putSubscription(tx, c.record);
  return subscriptionRecordCopy(c);
}

/** Deletes a subscription; what only it held leaves the log (in bounded steps). */
export function deleteSubscriptionRecord(tx: Tx, jobs: Jobs, name: string): void {
  const c = tx.state.requireCursor(name);
  const t = tx.state.topicOf(c);
  const from = Math.min(...c.lanes.map((l) => l.floor));
  removeSubscription(tx, jobs, c);
  if (from <= t.head.lastSeq) {
    jobs.start(tx, { kind: "release", topicId: t.id, fromSeq: Math.max(from, t.head.logStart), toSeq: t.head.lastSeq });
  }
}
