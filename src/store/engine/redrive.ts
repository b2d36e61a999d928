import { BrokerError, invalidArgument } from "../../errors/index.js";
import { DEAD_LETTER_ATTRIBUTES as A, isDeadLetterAttribute } from "../dead-letters.js";
import type { KvWriter } from "../kv/kv.js";
import type { RedriveChunk, RedriveOptions, SubscriptionRecord, TopicRecord } from "../store.js";
import { MAX_ID_BYTES } from "./append.js";
import { formatGeneratedId } from "./generated-id.js";
import {
  dedupExpiryKey,
  encodeF64s,
  encodeU32,
  idStringKey,
  keyAfter,
  readU64,
  readyKey,
  seqKey,
  Table,
} from "./keys.js";
import { decodeMessage, encodeMessage } from "./message-codec.js";
import { waitsBehindKey } from "./ordering.js";
import {
  findTopic,
  type Head,
  readCounters,
  readHead,
  readMessageIdEntry,
  requireSubscription,
  topicById,
  writeCounters,
  writeHead,
} from "./records.js";
import { dropFromLog, readTopicHolders, writeHolderCounters } from "./topic-limits.js";

const EMPTY = Buffer.alloc(0);

type Stored = ReturnType<typeof decodeMessage>;

/** Is this dead letter one of `sub`'s, and does it match the filter? */
function matches(m: Stored, sub: SubscriptionRecord, filter: Readonly<Record<string, string>>): boolean {
  const a = m.attributes;
  if (a[A.sourceSubscription] !== sub.name || a[A.sourceTopic] !== sub.topic) return false;
  for (const [k, v] of Object.entries(filter)) if (a[k] !== v) return false;
  return true;
}

/** The subscription, its topic and its dead-letter topic, or a clear error (nothing written yet). */
function endpoints(
  w: KvWriter,
  subscription: string,
): { sub: SubscriptionRecord; source: TopicRecord; dlq: TopicRecord } {
  const sub = requireSubscription(w, subscription);
  if (sub.deadLetterTopic === "") {
    throw new BrokerError("NO_DEAD_LETTER_TOPIC", `subscription "${sub.name}" has no dead_letter_topic`, {
      metadata: { subscription: sub.name },
    });
  }
  const source = topicById(w, sub.topicId) as TopicRecord;
  const dlq = findTopic(w, sub.deadLetterTopic);
  if (!dlq) {
    throw new BrokerError("TOPIC_NOT_FOUND", `dead-letter topic "${sub.deadLetterTopic}" does not exist`, {
      metadata: { topic: sub.deadLetterTopic, field: "dead_letter_topic" },
    });
  }
  if (dlq.id === source.id)
    throw invalidArgument("the dead-letter topic is the subscription's own topic", "dead_letter_topic");
  return { sub, source, dlq };
}

/**
 * One bounded, atomic step of a Redrive: every matching dead letter found leaves the dead-letter
 * topic (log and subscriptions) and is appended again to the source topic for `sub` only, all
 * in this transaction. Everything that can fail is checked before the first write.
 */
export function redriveChunk(w: KvWriter, subscription: string, o: RedriveOptions, nowMs: number): RedriveChunk {
  const { sub, source, dlq } = endpoints(w, subscription);
  const found: Stored[] = [];
  if (o.afterSeq >= o.untilSeq) return { moved: 0, lastSeq: o.afterSeq, done: true };
  const end = seqKey(Table.Message, dlq.id, o.untilSeq + 1);
  const batch = w.range({ start: keyAfter(seqKey(Table.Message, dlq.id, o.afterSeq)), end, limit: o.maxScan });
  let lastSeq = o.afterSeq;
  for (const { key, value } of batch) {
    lastSeq = readU64(key, 5);
    const m = decodeMessage(value, dlq.name, lastSeq);
    if (matches(m, sub, o.filter)) found.push({ ...m, data: Buffer.from(m.data) });
    if (found.length >= o.maxMessages) break;
  }
  const done = batch.length < o.maxScan && found.length < o.maxMessages;
  if (found.length === 0) return { moved: 0, lastSeq, done };
  removeFromDeadLetterTopic(w, dlq, found, nowMs);
  appendForOne(w, source, sub, found, nowMs);
  return { moved: found.length, lastSeq, done };
}

/**
 * Takes messages out of a topic entirely: every subscription's entry (ready, pending or waiting
 * behind its ordering key; an ordered subscription passes the key on), then the log.
 */
function removeFromDeadLetterTopic(w: KvWriter, dlq: TopicRecord, found: readonly Stored[], nowMs: number): void {
  const head = readHead(w, dlq.id);
  const holders = readTopicHolders(w, dlq.id);
  for (const m of found) {
    const raw = w.get(seqKey(Table.Message, dlq.id, m.seq));
    if (raw) dropFromLog(w, dlq, head, holders, m.seq, raw, nowMs);
  }
  writeHolderCounters(w, holders);
  writeHead(w, dlq.id, head);
}

/**
 * Appends messages to the source topic for one subscription (not fanned out: the other
 * subscriptions had them already). Each keeps its id, data, attributes (minus the dead-letter
 * ones), priority and ordering key, and starts over with fresh delivery attempts.
 */
function appendForOne(
  w: KvWriter,
  topic: TopicRecord,
  sub: SubscriptionRecord,
  found: readonly Stored[],
  nowMs: number,
) {
  const head: Head = readHead(w, topic.id);
  const c = readCounters(w, sub.id);
  for (const m of found) {
    const seq = ++head.lastSeq;
    const attributes = Object.fromEntries(Object.entries(m.attributes).filter(([k]) => !isDeadLetterAttribute(k)));
    const generated = formatGeneratedId(topic.id, seq);
    // The source id comes from an attribute anyone may have set: one too long to index (it would
    // fail the KV write half-way through this step) is not an id; the copy gets a generated one.
    const sourceId = m.attributes[A.sourceId] ?? "";
    const id = sourceId !== "" && Buffer.byteLength(sourceId) <= MAX_ID_BYTES ? sourceId : generated;
    if (id !== generated) indexId(w, topic, id, seq, nowMs);
    const body = { id, data: m.data, attributes, priority: m.priority, orderingKey: m.orderingKey };
    w.put(
      seqKey(Table.Message, topic.id, seq),
      encodeMessage({ ...body, publishTimeMs: nowMs, deliverAtMs: 0, expireAtMs: 0 }),
    );
    head.messages++;
    head.bytes += m.data.length;
    c.unacked++;
    const key = Buffer.from(m.orderingKey);
    // Behind its key's active message, if the key has one.
    if (sub.ordered && waitsBehindKey(w, sub.id, key, { seq, priority: m.priority, deliverAtMs: 0 })) continue;
    w.put(readyKey(sub.id, m.priority, seq), encodeU32(0));
  }
  writeHead(w, topic.id, head);
  writeCounters(w, sub.id, c);
}

/**
 * Points the id at the redriven copy, so Ack by message id finds it, unless the id still names
 * a stored message (other subscriptions still hold the original): that entry stays. Window-scope
 * entries get their dedup expiry, as on publish, so the sweep removes them.
 */
function indexId(w: KvWriter, topic: TopicRecord, id: string, seq: number, nowMs: number): void {
  const key = idStringKey(Table.MessageId, topic.id, id);
  const entry = readMessageIdEntry(w.get(key));
  if (entry && w.get(seqKey(Table.Message, topic.id, entry.seq))) return;
  const keepWindow = topic.dedupScope === "window";
  const expireMs = keepWindow ? nowMs + topic.dedupWindowMs : 0;
  if (keepWindow) w.put(dedupExpiryKey(expireMs, topic.id, id), EMPTY);
  w.put(key, encodeF64s(seq, nowMs, expireMs));
}
