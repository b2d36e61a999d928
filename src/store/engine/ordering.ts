/**
 * Ordered subscriptions: one message in flight per ordering key, the next only after it is acked,
 * and no head-of-line blocking across keys. Of each key only one message is *active*, in the
 * subscription's ready or pending sets like any other message: the lowest seq when it became
 * active (a Seek may leave lower seqs behind one in flight: those are marked early, and the mark
 * stays until they leave the waiting table, so it covers at least every such message). Its later
 * messages wait in the OrderWaiting table, [subId][key body][seq], invisible to hand-out; the
 * OrderLock record names the active seq. A nack or an expired lease keeps the active message
 * active; when it leaves the subscription by any path, {@link leftSubscription} makes the next
 * waiting one (lowest seq) active. Waiting messages count as unacked and nowhere else.
 */
import { createHash } from "node:crypto";
import type { KvReader, KvWriter } from "../kv/kv.js";
import { dueKey, encodeF64s, encodeU32, idKey, prefixEnd, readU64, readyKey, seqKey, Table } from "./keys.js";
import { messageDeliverAt } from "./message-codec.js";
import { type Counters, encodePending } from "./records.js";

/** Ordering keys longer than this are indexed under their SHA-256, so the index keys fit the KV. */
const MAX_RAW_KEY_BYTES = 512;
/** The length field of a hashed key body (no raw body is this long). */
const HASHED = 0xffff;
const EMPTY = Buffer.alloc(0);

/** The subscription fields the ordering tables need. */
export interface SubRef {
  id: number;
  topicId: number;
}

/** A message waiting behind its key's active one. */
export interface Waiting {
  priority: number;
  /** Delivery attempts so far: 0, unless a Seek put an active message back to wait. */
  attempts: number;
  /**
   * Its seq was lower than the key's active one when it was put to wait (indexed in OrderEarly,
   * for the oldest-unacked stat): every waiting message older than its key's active one is early.
   */
  early: boolean;
}

/**
 * The body an ordering key is indexed under: [u16 length][UTF-8 bytes], or [0xffff][SHA-256] for
 * keys longer than {@link MAX_RAW_KEY_BYTES}. Length-prefixed, so the waiting entries of a key
 * that is a prefix of another never interleave with the other's.
 */
export function keyBody(key: Buffer): Buffer {
  if (key.length > MAX_RAW_KEY_BYTES) {
    const b = Buffer.allocUnsafe(34);
    b.writeUInt16BE(HASHED, 0);
    createHash("sha256").update(key).digest().copy(b, 2);
    return b;
  }
  const b = Buffer.allocUnsafe(2 + key.length);
  b.writeUInt16BE(key.length, 0);
  key.copy(b, 2);
  return b;
}

function subKey(table: Table, subId: number, body: Buffer, extra = 0): Buffer {
  const b = Buffer.allocUnsafe(5 + body.length + extra);
  b[0] = table;
  b.writeUInt32BE(subId, 1);
  body.copy(b, 5);
  return b;
}

/** [OrderLock][subId][body]: the key's active seq and priority. */
export function headKey(subId: number, body: Buffer): Buffer {
  return subKey(Table.OrderLock, subId, body);
}

/** [OrderWaiting][subId][body]: the start of one key's waiting messages. */
function waitingPrefix(subId: number, body: Buffer): Buffer {
  return subKey(Table.OrderWaiting, subId, body);
}

/** [OrderWaiting][subId][body][seq u64] */
export function waitingKey(subId: number, body: Buffer, seq: number): Buffer {
  const b = subKey(Table.OrderWaiting, subId, body, 8);
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 5 + body.length);
  b.writeUInt32BE((seq % 0x1_0000_0000) >>> 0, 9 + body.length);
  return b;
}

/** Parses a waiting key into its key body and seq. */
export function parseWaitingKey(key: Buffer): { body: Buffer; seq: number } {
  return { body: key.subarray(5, key.length - 8), seq: readU64(key, key.length - 8) };
}

export function encodeWaiting(v: Waiting): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = v.priority;
  b.writeUInt32BE(v.attempts, 1);
  b[5] = v.early ? 1 : 0;
  return b;
}

export function decodeWaiting(b: Buffer): Waiting {
  return { priority: b[0] as number, attempts: b.readUInt32BE(1), early: b[5] === 1 };
}

/** The key's active message, if it has one. */
export function activeOf(r: KvReader, subId: number, body: Buffer): { seq: number; priority: number } | undefined {
  const v = r.get(headKey(subId, body));
  return v ? { seq: v.readDoubleBE(0), priority: v.readDoubleBE(8) } : undefined;
}

/** Records the key's active message. */
export function setActive(w: KvWriter, subId: number, body: Buffer, seq: number, priority: number): void {
  w.put(headKey(subId, body), encodeF64s(seq, priority));
}

/** Writes a waiting entry (and its early marker). */
export function putWaiting(w: KvWriter, subId: number, body: Buffer, seq: number, v: Waiting): void {
  w.put(waitingKey(subId, body, seq), encodeWaiting(v));
  if (v.early) w.put(earlyKey(subId, seq), EMPTY);
  else w.del(earlyKey(subId, seq));
}

/** Removes a waiting entry (and its early marker). */
export function removeWaiting(w: KvWriter, subId: number, key: Buffer, seq: number, v: Waiting): void {
  w.del(key);
  if (v.early) w.del(earlyKey(subId, seq));
}

/** [OrderEarly][subId][seq] */
function earlyKey(subId: number, seq: number): Buffer {
  return seqKey(Table.OrderEarly, subId, seq);
}

/** The lowest early seq of a subscription (a waiting message older than its key's active one). */
export function firstEarlySeq(r: KvReader, subId: number): number | undefined {
  const prefix = idKey(Table.OrderEarly, subId);
  const [first] = r.range({ start: prefix, end: prefixEnd(prefix), limit: 1 });
  return first ? readU64(first.key, 5) : undefined;
}

/** The waiting entry of a message of the subscription, if it waits behind its key. */
export function findWaiting(
  r: KvReader,
  subId: number,
  key: Buffer,
  seq: number,
): { key: Buffer; waiting: Waiting } | undefined {
  if (key.length === 0) return undefined;
  const wk = waitingKey(subId, keyBody(key), seq);
  const v = r.get(wk);
  return v ? { key: wk, waiting: decodeWaiting(v) } : undefined;
}

/**
 * Takes a new message (no delivery yet) of an ordered subscription on. Returns true when it waits
 * behind its key's active message (written to the waiting table; the caller only counts it);
 * false when it has no key, or is its key's active message now (recorded): the caller makes it
 * available or delayed as usual. New messages have the highest seq, so they are never early.
 */
export function waitsBehindKey(w: KvWriter, subId: number, key: Buffer, seq: number, priority: number): boolean {
  if (key.length === 0) return false;
  const body = keyBody(key);
  const head = headKey(subId, body);
  if (w.get(head)) {
    w.put(waitingKey(subId, body, seq), encodeWaiting({ priority, attempts: 0, early: false }));
    return true;
  }
  w.put(head, encodeF64s(seq, priority));
  return false;
}

/**
 * Makes a message its key's active one: available now with its attempts so far, or delayed until
 * its deliver time (counted in `c`). The caller took it out of the waiting table.
 */
export function activate(
  w: KvWriter,
  subId: number,
  body: Buffer,
  m: { seq: number; priority: number; attempts: number; deliverAtMs: number },
  nowMs: number,
  c: Counters,
): void {
  setActive(w, subId, body, m.seq, m.priority);
  if (m.deliverAtMs > nowMs) {
    const p = { state: "delayed", dueMs: m.deliverAtMs, attempt: m.attempts, priority: m.priority } as const;
    w.put(seqKey(Table.Pending, subId, m.seq), encodePending(p));
    w.put(dueKey(subId, m.deliverAtMs, m.seq), EMPTY);
    c.delayed++;
  } else {
    w.put(readyKey(subId, m.priority, m.seq), encodeU32(m.attempts));
  }
}

/**
 * A message of an ordered subscription left it (acked, dropped, dead-lettered, expired; the
 * caller already took it out of ready/pending and counted it out). When it was its key's active
 * message, the key's next waiting message (lowest seq) becomes active; with none, the key is free.
 * `key`: the message's ordering key bytes (empty: none, nothing to do).
 */
export function leftSubscription(w: KvWriter, sub: SubRef, seq: number, key: Buffer, nowMs: number, c: Counters): void {
  if (key.length === 0) return;
  const body = keyBody(key);
  const head = w.get(headKey(sub.id, body));
  if (!head || head.readDoubleBE(0) !== seq) return;
  activateNext(w, sub, body, nowMs, c);
}

/** Makes the key's lowest waiting message active, or frees the key when none waits. */
export function activateNext(w: KvWriter, sub: SubRef, body: Buffer, nowMs: number, c: Counters): void {
  const prefix = waitingPrefix(sub.id, body);
  for (;;) {
    const [first] = w.range({ start: prefix, end: prefixEnd(prefix), limit: 1 });
    if (!first) {
      w.del(headKey(sub.id, body));
      return;
    }
    const { seq } = parseWaitingKey(first.key);
    const v = decodeWaiting(first.value);
    removeWaiting(w, sub.id, first.key, seq, v);
    const raw = w.get(seqKey(Table.Message, sub.topicId, seq));
    if (!raw) {
      c.unacked--; // gone from the log (never expected): no longer held
      continue;
    }
    const m = { seq, priority: v.priority, attempts: v.attempts, deliverAtMs: messageDeliverAt(raw) };
    activate(w, sub.id, body, m, nowMs, c);
    return;
  }
}

/** The ordering tables, keyed by subscription id first (purge and delete empty them). */
export const ORDERING_TABLES: readonly Table[] = [Table.OrderLock, Table.OrderWaiting, Table.OrderEarly];
