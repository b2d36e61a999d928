/**
 * Ordered subscriptions: one message in flight per ordering key, the next only after it is acked,
 * and no head-of-line blocking across keys. Of each key only one message is *active*, in the
 * subscription's ready or pending sets like any other message: the lowest seq when it became
 * active (a Seek may leave lower seqs behind one in flight: those are marked early, and the mark
 * stays until they leave the waiting table, so it covers at least every such message). Its later
 * messages wait in the OrderWaiting table, invisible to hand-out, as a list in seq order linked
 * per key; the key's OrderLock record names the active seq and the list's first and last seq.
 * Waiting entries are keyed [subId][seq], not by ordering key: appends write near the end of the
 * table and promotions read near its front, as for the ready set, instead of touching one page
 * per key (many keys made that twice as slow on LMDB). A nack or an expired lease keeps the active
 * message active; when it leaves the subscription by any path, {@link leftSubscription} makes the
 * next waiting one (lowest seq) active. Waiting messages count as unacked and nowhere else.
 */
import { createHash } from "node:crypto";
import type { KvReader, KvWriter } from "../kv/kv.js";
import { dueKey, encodeU32, idKey, prefixEnd, readU64, readyKey, seqKey, Table } from "./keys.js";
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

/** A key's line: its active message and the first and last of those waiting (0: none). */
export interface Line {
  seq: number;
  priority: number;
  first: number;
  last: number;
}

/** A message waiting behind its key's active one: an entry of the key's list. */
export interface Waiting {
  priority: number;
  /** Delivery attempts so far: 0, unless a Seek put an active message back to wait. */
  attempts: number;
  /**
   * Its seq was lower than the key's active one when it was put to wait (indexed in OrderEarly,
   * for the oldest-unacked stat): every waiting message older than its key's active one is early.
   */
  early: boolean;
  deliverAtMs: number;
  /** The previous and next waiting seq of the key (0: none; `prev` of the first is not kept up). */
  prev: number;
  next: number;
  /** The ordering key's body ({@link keyBody}). */
  body: Buffer;
}

/**
 * The body an ordering key is indexed under: [u16 length][UTF-8 bytes], or [0xffff][SHA-256] for
 * keys longer than {@link MAX_RAW_KEY_BYTES}, so every key has exactly one body.
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

/** [OrderLock][subId][body] */
export function lineKey(subId: number, body: Buffer): Buffer {
  const b = Buffer.allocUnsafe(5 + body.length);
  b[0] = Table.OrderLock;
  b.writeUInt32BE(subId, 1);
  body.copy(b, 5);
  return b;
}

/** The key's line, if the key has an active message. */
export function readLine(r: KvReader, subId: number, body: Buffer): Line | undefined {
  const v = r.get(lineKey(subId, body));
  if (!v) return undefined;
  const f = (i: number) => (v.length >= i * 8 + 8 ? v.readDoubleBE(i * 8) : 0);
  return { seq: f(0), priority: f(1), first: f(2), last: f(3) };
}

export function writeLine(w: KvWriter, subId: number, body: Buffer, l: Line): void {
  const b = Buffer.allocUnsafe(32);
  b.writeDoubleBE(l.seq, 0);
  b.writeDoubleBE(l.priority, 8);
  b.writeDoubleBE(l.first, 16);
  b.writeDoubleBE(l.last, 24);
  w.put(lineKey(subId, body), b);
}

/** [OrderWaiting][subId][seq] */
function waitingKey(subId: number, seq: number): Buffer {
  return seqKey(Table.OrderWaiting, subId, seq);
}

function encodeWaiting(v: Waiting): Buffer {
  const b = Buffer.allocUnsafe(30 + v.body.length);
  b[0] = v.priority;
  b.writeUInt32BE(v.attempts, 1);
  b[5] = v.early ? 1 : 0;
  b.writeDoubleBE(v.deliverAtMs, 6);
  b.writeDoubleBE(v.prev, 14);
  b.writeDoubleBE(v.next, 22);
  v.body.copy(b, 30);
  return b;
}

/** Decodes a waiting entry's value. */
export function decodeWaiting(b: Buffer): Waiting {
  return {
    priority: b[0] as number,
    attempts: b.readUInt32BE(1),
    early: b[5] === 1,
    deliverAtMs: b.readDoubleBE(6),
    prev: b.readDoubleBE(14),
    next: b.readDoubleBE(22),
    body: b.subarray(30),
  };
}

/** The waiting entry of a seq of the subscription, if it waits. */
export function getWaiting(r: KvReader, subId: number, seq: number): Waiting | undefined {
  const v = r.get(waitingKey(subId, seq));
  return v ? decodeWaiting(v) : undefined;
}

/** Writes a waiting entry (and its early marker). */
export function putWaiting(w: KvWriter, subId: number, seq: number, v: Waiting): void {
  w.put(waitingKey(subId, seq), encodeWaiting(v));
  if (v.early) w.put(earlyKey(subId, seq), EMPTY);
  else w.del(earlyKey(subId, seq));
}

/** Deletes a waiting entry (and its early marker) without relinking its list (see {@link unlinkWaiting}). */
export function deleteWaiting(w: KvWriter, subId: number, seq: number, v: Waiting): void {
  w.del(waitingKey(subId, seq));
  if (v.early) w.del(earlyKey(subId, seq));
}

/** Takes a waiting message out of its key's list (acked by id, dropped): the list closes up. */
export function unlinkWaiting(w: KvWriter, subId: number, seq: number, v: Waiting): void {
  deleteWaiting(w, subId, seq, v);
  const line = readLine(w, subId, v.body);
  if (!line) return;
  const prev = line.first === seq ? 0 : v.prev;
  const setLink = (at: number, field: "prev" | "next", to: number) => {
    const x = getWaiting(w, subId, at);
    if (x) w.put(waitingKey(subId, at), encodeWaiting({ ...x, [field]: to }));
  };
  if (prev > 0) setLink(prev, "next", v.next);
  else line.first = v.next;
  if (v.next > 0) setLink(v.next, "prev", prev);
  else line.last = prev;
  writeLine(w, subId, v.body, line);
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

/**
 * Takes a new message (no delivery yet) of an ordered subscription on. Returns true when it waits
 * behind its key's active message (appended to the key's list; the caller only counts it); false
 * when it has no key, or is its key's active message now (recorded): the caller makes it
 * available or delayed as usual. New messages have the highest seq, so they are never early.
 */
export function waitsBehindKey(
  w: KvWriter,
  subId: number,
  key: Buffer,
  m: { seq: number; priority: number; deliverAtMs: number },
): boolean {
  if (key.length === 0) return false;
  const body = keyBody(key);
  const line = readLine(w, subId, body);
  if (!line) {
    writeLine(w, subId, body, { seq: m.seq, priority: m.priority, first: 0, last: 0 });
    return false;
  }
  const v = {
    priority: m.priority,
    attempts: 0,
    early: false,
    deliverAtMs: m.deliverAtMs,
    prev: line.last,
    next: 0,
    body,
  };
  w.put(waitingKey(subId, m.seq), encodeWaiting(v));
  const tail = line.last > 0 ? getWaiting(w, subId, line.last) : undefined;
  if (tail) w.put(waitingKey(subId, line.last), encodeWaiting({ ...tail, next: m.seq }));
  else line.first = m.seq;
  line.last = m.seq;
  writeLine(w, subId, body, line);
  return true;
}

/**
 * Makes a key's (new) active message available now with its attempts so far, or delayed until its
 * deliver time (counted in `c`).
 */
export function makeAvailable(
  w: KvWriter,
  subId: number,
  m: { seq: number; priority: number; attempts: number; deliverAtMs: number },
  nowMs: number,
  c: Counters,
): void {
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
  const line = readLine(w, sub.id, body);
  if (!line || line.seq !== seq) return;
  const next = line.first > 0 ? getWaiting(w, sub.id, line.first) : undefined;
  if (!next) {
    w.del(lineKey(sub.id, body));
    return;
  }
  const seqNext = line.first;
  deleteWaiting(w, sub.id, seqNext, next);
  writeLine(w, sub.id, body, {
    seq: seqNext,
    priority: next.priority,
    first: next.next,
    last: next.next > 0 ? line.last : 0,
  });
  const m = { seq: seqNext, priority: next.priority, attempts: next.attempts, deliverAtMs: next.deliverAtMs };
  makeAvailable(w, sub.id, m, nowMs, c);
}

/** The ordering tables, keyed by subscription id first (purge and delete empty them). */
export const ORDERING_TABLES: readonly Table[] = [Table.OrderLock, Table.OrderWaiting, Table.OrderEarly];
