/**
 * Publish: a message is written once, to the topic's log, whatever the number of subscriptions.
 * Subscriptions are cursors over the log, so fan-out costs nothing per subscription but the
 * update of each one's counters (once per batch). Filters are evaluated here for one reason: a
 * message that no subscription takes (and the topic does not retain) is not stored at all, and
 * the counters count what each subscription will deliver. Delivery evaluates them again as it
 * reads (deliver.ts), instead of an index per subscription written here.
 */
import { invalidArgument } from "../../errors/index.js";
import { MAX_KEY_BYTES } from "../kv/kv.js";
import type { AppendRecord, AppendResult } from "../store.js";
import type { Cursor } from "./cursor.js";
import { formatGeneratedId } from "./generated-id.js";
import { putIdEntry } from "./id-deletes.js";
import {
  DEDUP_EXPIRY_KEY_OVERHEAD,
  dedupExpiryKey,
  idStringKey,
  laneKey,
  seqKey,
  Table,
  timeSeqKey,
  topicDueKey,
} from "./keys.js";
import type { Lane } from "./lane.js";
import { encodedMessageBytes, encodeMessage, messageAttributes, messageMeta } from "./message-codec.js";
import { heldByAny, isGone } from "./release.js";
import type { TopicState } from "./state.js";
import { decodeMessageIdEntry, encodeMessageIdEntry } from "./table-values.js";
import { checkCapacity, enforceLimits } from "./topic-limits.js";
import type { Tx } from "./tx.js";

/** Longest message id: the longest key holding one, [DedupExpiry][u64][u32][id], must fit the KV. */
export const MAX_ID_BYTES = MAX_KEY_BYTES - DEDUP_EXPIRY_KEY_OVERHEAD;
/** Length fields of the message encoding (see message-codec.ts). */
const U16_MAX = 0xffff;
const EMPTY = Buffer.alloc(0);
/** Longest id the store generates: `sy-`, a u32 and a safe integer in base 36 (7 and 11 digits), a `-`. */
const GENERATED_ID_MAX_BYTES = 22;

/**
 * The log values of one append, cut from one allocation sized for the whole batch instead of
 * one allocation per message: a batch's values all live until its commit anyway. A value that
 * does not fit (never, when the slab is sized by {@link appendSlabBytes}) gets its own buffer.
 */
export class ValueSlab {
  private readonly buf: Buffer;
  private used = 0;

  constructor(bytes: number) {
    this.buf = Buffer.allocUnsafe(bytes); // small slabs come from Node's shared pool
  }

  /** A buffer of exactly `bytes`, for one value. */
  take(bytes: number): Buffer {
    const start = this.used;
    if (start + bytes > this.buf.length) return Buffer.allocUnsafe(bytes);
    this.used = start + bytes;
    return this.buf.subarray(start, start + bytes);
  }
}

/**
 * Bytes of the log values of `records` at most (a generated id counted at its longest), of
 * those `stored` says the log keeps (default: all).
 */
export function appendSlabBytes(records: readonly AppendRecord[], stored?: (i: number) => boolean): number {
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    if (stored !== undefined && !stored(i)) continue;
    const r = records[i] as AppendRecord;
    bytes += encodedMessageBytes(r, r.id) + (r.id === "" ? GENERATED_ID_MAX_BYTES : 0);
  }
  return bytes;
}

/**
 * Refuses what the engine cannot store before anything is written (a throw inside a KV write
 * does not roll back earlier puts, so a late failure would leave half a batch behind).
 */
function validateRecords(records: readonly AppendRecord[]): void {
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AppendRecord;
    if (r.id.length > 0 && Buffer.byteLength(r.id) > MAX_ID_BYTES)
      throw fail(i, `id is longer than ${MAX_ID_BYTES} bytes`, "id");
    if (!Number.isInteger(r.priority) || r.priority < 0 || r.priority > 9)
      throw fail(i, "priority is not 0..9", "priority");
    if (r.orderingKey.length > 0 && Buffer.byteLength(r.orderingKey) > U16_MAX) {
      throw fail(i, "ordering key is too long", "ordering_key");
    }
    let attrs = 0;
    for (const k in r.attributes) {
      attrs++;
      if (Buffer.byteLength(k) > U16_MAX) throw fail(i, "too many or too long attributes", "attributes");
    }
    if (attrs > U16_MAX) throw fail(i, "too many or too long attributes", "attributes");
  }
}

function fail(i: number, what: string, field: string) {
  return invalidArgument(`message ${i}: ${what}`, field);
}

/**
 * Is `id` a duplicate within the topic's dedup scope? Returns the original seq if so. In the
 * unacked scope an id counts while some subscription (or snapshot) still holds its message.
 */
export function duplicateSeq(tx: Tx, t: TopicState, id: string): number | undefined {
  const entry = decodeMessageIdEntry(tx.w.get(idStringKey(Table.MessageId, t.id, id)));
  if (!entry) return undefined;
  if (t.record.dedupScope === "unacked") {
    if (isGone(t, entry.seq)) return undefined; // purged, or released: the id is free again
    const raw = tx.w.view(seqKey(Table.Message, t.id, entry.seq)); // header and attributes only
    if (!raw) return undefined;
    return heldByAny(t, entry.seq, messageMeta(raw), () => messageAttributes(raw)) ? entry.seq : undefined;
  }
  return entry.publishMs + t.record.dedupWindowMs > tx.nowMs ? entry.seq : undefined;
}

/**
 * Does an append to `t` store a message these subscriptions take? Yes when one does, or when
 * the topic keeps messages for replay (retain_acked) even with none.
 */
export function keepsMessage(t: TopicState, holders: readonly Cursor[]): boolean {
  return holders.length > 0 || t.record.retainAckedMs > 0;
}

/** The subscriptions of `t` that take a message with these attributes (for `onlyFor`: only it). */
export function takers(t: TopicState, attributes: Record<string, string>, onlyFor = 0): Cursor[] {
  const out: Cursor[] = [];
  for (const c of t.cursors.values()) if (c.wants(onlyFor, () => attributes)) out.push(c);
  return out;
}

/** The takers of each record (one shared list when no subscription has a filter). */
function takersOf(t: TopicState, records: readonly AppendRecord[]): Cursor[][] {
  let filtered = false;
  for (const c of t.cursors.values()) if (c.filter !== undefined) filtered = true;
  if (!filtered) {
    const all = [...t.cursors.values()];
    return records.map(() => all);
  }
  return records.map((r) => takers(t, r.attributes));
}

/**
 * Writes one message to the log (and the indexes its options need) and counts it into the
 * subscriptions that take it. The caller assigned `seq` and the id (generated when the record
 * has none). `slab`: where the value is cut from (default: a buffer of its own).
 */
export function storeMessage(
  tx: Tx,
  t: TopicState,
  seq: number,
  m: AppendRecord,
  id: string,
  publishTimeMs: number,
  holders: readonly Cursor[],
  onlyForSubId = 0,
  slab?: ValueSlab,
): void {
  const w = tx.w;
  const value = encodeMessage(m, id, publishTimeMs, onlyForSubId, m.id === "", slab?.take(encodedMessageBytes(m, id)));
  w.put(seqKey(Table.Message, t.id, seq), value);
  t.tail.put(seq, value);
  if (m.priority > 0) {
    w.put(laneKey(t.id, m.priority, seq), EMPTY);
    if (seq > (t.laneLast[m.priority] as number)) t.laneLast[m.priority] = seq;
  }
  if (m.deliverAtMs > 0) {
    w.put(topicDueKey(t.id, m.deliverAtMs, seq), Buffer.of(m.priority));
    if (m.deliverAtMs > t.dueLast) t.dueLast = m.deliverAtMs;
  }
  if (m.expireAtMs > 0) w.put(timeSeqKey(Table.TtlExpiry, m.expireAtMs, t.id, seq), EMPTY);
  t.head.messages++;
  t.head.bytes += m.data.length;
  tx.touchHead(t);
  for (const c of holders) {
    if (!c.uncounted(seq)) c.unacked++;
    tx.touchCursor(c);
  }
  // Nobody holds it: kept for replay only (retain_acked), until the sweep.
  if (holders.length === 0) {
    w.put(timeSeqKey(Table.RetainExpiry, publishTimeMs + t.record.retainAckedMs, t.id, seq), EMPTY);
  }
}

/**
 * Tells the topic's log tail where its readers are (log-tail.ts): the lane-0 scan positions of
 * its unordered subscriptions (an ordered one reads the log itself, in seq order).
 */
function tellTailReaders(t: TopicState): void {
  let slowest = Number.POSITIVE_INFINITY;
  let furthest = Number.NEGATIVE_INFINITY;
  for (const c of t.cursors.values()) {
    if (c.ordered) continue;
    const next = (c.lanes[0] as Lane).next;
    if (next < slowest) slowest = next;
    if (next > furthest) furthest = next;
  }
  t.tail.readersAt(slowest, furthest);
}

/** Appends records to a topic's log; ids already known within the dedup scope are duplicates. */
export function appendRecords(tx: Tx, topicName: string, records: readonly AppendRecord[]): AppendResult[] {
  const t = tx.state.requireTopic(topicName);
  validateRecords(records);
  tellTailReaders(t);
  const now = tx.nowMs;
  const holdersOf = takersOf(t, records);
  checkCapacity(tx, t, newTotals(tx, t, records, holdersOf));
  const results: AppendResult[] = [];
  const windowScope = t.record.dedupScope === "window";
  const slab = new ValueSlab(appendSlabBytes(records, (i) => keepsMessage(t, holdersOf[i] as Cursor[])));
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AppendRecord;
    const holders = holdersOf[i] as Cursor[];
    const stores = keepsMessage(t, holders);
    if (r.id !== "") {
      const dup = duplicateSeq(tx, t, r.id);
      if (dup !== undefined) {
        results.push({ seq: dup, id: r.id, duplicate: true });
        continue;
      }
    }
    const seq = ++t.head.lastSeq;
    tx.touchHead(t);
    const id = r.id === "" ? formatGeneratedId(t.id, seq) : r.id;
    results.push({ seq, id, duplicate: false });
    if (r.id !== "") {
      const expireMs = windowScope ? now + t.record.dedupWindowMs : 0;
      if (windowScope) tx.w.put(dedupExpiryKey(expireMs, t.id, r.id), EMPTY);
      // With nobody to take it nothing is stored: the id is kept only for a dedup window.
      if (stores || windowScope)
        putIdEntry(
          tx,
          idStringKey(Table.MessageId, t.id, r.id),
          encodeMessageIdEntry({ seq, publishMs: now, expireMs }),
        );
    }
    if (stores) storeMessage(tx, t, seq, r, id, now, holders, 0, slab);
  }
  tx.appended.set(t, t.head.lastSeq);
  enforceLimits(tx, t);
  return results;
}

/** Messages and data bytes an append would store (duplicates excluded), for the limit check. */
function newTotals(tx: Tx, t: TopicState, records: readonly AppendRecord[], holdersOf: readonly Cursor[][]) {
  const totals = { messages: 0, bytes: 0 };
  if (t.record.overflow !== "reject" || (t.record.maxMessages === 0 && t.record.maxBytes === 0)) return totals;
  const seen = new Set<string>();
  records.forEach((r, i) => {
    if (!keepsMessage(t, holdersOf[i] as Cursor[])) return;
    if (r.id !== "" && (seen.has(r.id) || duplicateSeq(tx, t, r.id) !== undefined)) return;
    if (r.id !== "") seen.add(r.id);
    totals.messages++;
    totals.bytes += r.data.length;
  });
  return totals;
}
