/**
 * Redrive: dead letters go back to their source subscription, in bounded atomic steps. Each found
 * letter leaves the dead-letter topic (its log and every subscription of it) and is appended to the
 * source topic again, marked for the source subscription only (the other subscriptions of the topic
 * had it already): they step over it as over a message their filter refuses.
 */
import { BrokerError, invalidArgument } from "../../errors/index.js";
import { DEAD_LETTER_ATTRIBUTES as A, isDeadLetterAttribute } from "../dead-letters.js";
import type { RedriveChunk, RedriveOptions } from "../store.js";
import { MAX_ID_BYTES, storeMessage } from "./append.js";
import type { Cursor } from "./cursor.js";
import { formatGeneratedId } from "./generated-id.js";
import { putIdEntry } from "./id-deletes.js";
import { dedupExpiryKey, idStringKey, keySeq, seqKey, Table } from "./keys.js";
import { decodeMessage } from "./message-codec.js";
import { isGone } from "./release.js";
import type { TopicState } from "./state.js";
import { decodeMessageIdEntry, encodeMessageIdEntry } from "./table-values.js";
import { dropFromLog } from "./topic-limits.js";
import type { Tx } from "./tx.js";

const EMPTY = Buffer.alloc(0);

type Stored = ReturnType<typeof decodeMessage> & { raw: Buffer };

/** Is this dead letter one of `c`'s, and does it match the filter? */
function matches(m: Stored, c: Cursor, filter: Readonly<Record<string, string>>): boolean {
  const a = m.attributes;
  if (a[A.sourceSubscription] !== c.record.name || a[A.sourceTopic] !== c.record.topic) return false;
  for (const [k, v] of Object.entries(filter)) if (a[k] !== v) return false;
  return true;
}

/** The subscription, its topic and its dead-letter topic, or a clear error (nothing written yet). */
function endpoints(tx: Tx, subscription: string): { c: Cursor; source: TopicState; dlq: TopicState } {
  const c = tx.state.requireCursor(subscription);
  if (c.record.deadLetterTopic === "") {
    throw new BrokerError("NO_DEAD_LETTER_TOPIC", `subscription "${c.record.name}" has no dead_letter_topic`, {
      metadata: { subscription: c.record.name },
    });
  }
  const source = tx.state.topicOf(c);
  const dlq = tx.state.topics.get(c.record.deadLetterTopic);
  if (!dlq) {
    throw new BrokerError("TOPIC_NOT_FOUND", `dead-letter topic "${c.record.deadLetterTopic}" does not exist`, {
      metadata: { topic: c.record.deadLetterTopic, field: "dead_letter_topic" },
    });
  }
  if (dlq.id === source.id)
    throw invalidArgument("the dead-letter topic is the subscription's own topic", "dead_letter_topic");
  return { c, source, dlq };
}

/** One bounded, atomic step of a Redrive (see `Store.redrive`). */
export function redriveChunk(tx: Tx, subscription: string, o: RedriveOptions): RedriveChunk {
  const { c, source, dlq } = endpoints(tx, subscription);
  const found: Stored[] = [];
  if (o.afterSeq >= o.untilSeq) return { moved: 0, lastSeq: o.afterSeq, done: true };
  const from = Math.max(o.afterSeq + 1, dlq.head.logStart);
  const batch = tx.w.range({
    start: seqKey(Table.Message, dlq.id, from),
    end: seqKey(Table.Message, dlq.id, o.untilSeq + 1),
    limit: o.maxScan,
  });
  let lastSeq = o.afterSeq;
  for (const { key, value } of batch) {
    lastSeq = keySeq(key);
    if (isGone(dlq, lastSeq)) continue; // released: gone, its entry waits for the trim
    const m = decodeMessage(value, dlq.name, lastSeq);
    if (matches({ ...m, raw: value }, c, o.filter)) found.push({ ...m, data: Buffer.from(m.data), raw: value });
    if (found.length >= o.maxMessages) break;
  }
  const done = batch.length < o.maxScan && found.length < o.maxMessages;
  if (found.length === 0) return { moved: 0, lastSeq, done };
  for (const m of found) dropFromLog(tx, dlq, m.seq, m.raw);
  appendForOne(tx, source, c, found);
  return { moved: found.length, lastSeq, done };
}

/**
 * Appends messages to the source topic for one subscription. Each keeps its id, data,
 * attributes (minus the dead-letter ones), priority and ordering key, and starts over with fresh
 * delivery attempts.
 */
function appendForOne(tx: Tx, t: TopicState, c: Cursor, found: readonly Stored[]): void {
  for (const m of found) {
    const seq = ++t.head.lastSeq;
    const attributes = Object.fromEntries(Object.entries(m.attributes).filter(([k]) => !isDeadLetterAttribute(k)));
    const generated = formatGeneratedId(t.id, seq);
    // The source id comes from an attribute anyone may have set: one too long to index (it would
    // fail the KV write half-way through this step) is not an id; the copy gets a generated one.
    const sourceId = m.attributes[A.sourceId] ?? "";
    const id = sourceId !== "" && Buffer.byteLength(sourceId) <= MAX_ID_BYTES ? sourceId : generated;
    if (id !== generated) indexId(tx, t, id, seq);
    const record = {
      id: id === generated ? "" : id,
      data: m.data,
      attributes,
      priority: m.priority,
      orderingKey: m.orderingKey,
      deliverAtMs: 0,
      expireAtMs: 0,
    };
    storeMessage(tx, t, seq, record, id, tx.nowMs, [c], c.id);
  }
  tx.appended.set(t, t.head.lastSeq);
}

/**
 * Points the id at the redriven copy, so Ack by message id finds it, unless the id still names
 * a stored message (other subscriptions still hold the original): that entry stays. Window-scope
 * entries get their dedup expiry, as on publish, so the sweep removes them.
 */
function indexId(tx: Tx, t: TopicState, id: string, seq: number): void {
  const key = idStringKey(Table.MessageId, t.id, id);
  const entry = decodeMessageIdEntry(tx.w.get(key));
  if (entry && !isGone(t, entry.seq) && tx.w.view(seqKey(Table.Message, t.id, entry.seq))) return;
  const keepWindow = t.record.dedupScope === "window";
  const expireMs = keepWindow ? tx.nowMs + t.record.dedupWindowMs : 0;
  if (keepWindow) tx.w.put(dedupExpiryKey(expireMs, t.id, id), EMPTY);
  putIdEntry(tx, key, encodeMessageIdEntry({ seq, publishMs: tx.nowMs, expireMs }));
}
