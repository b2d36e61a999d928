/**
 * What one subscription holds (its ready, pending and waiting entries), read as a whole for Seek
 * and snapshots, and the moves they make: let go of a seq, or take a stored message on. Also
 * taking one message out of a subscription wherever it is (topic limits, TTL, redrive).
 */
import { BrokerError } from "../../errors/index.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import {
  decodeU32,
  dueKey,
  encodeU32,
  idKey,
  keyAfter,
  parseReadyKey,
  prefixEnd,
  readU64,
  readyKey,
  seqKey,
  Table,
} from "./keys.js";
import { messageDeliverAt, messageOrderingKeyBytes, messagePriority } from "./message-codec.js";
import {
  decodeWaiting,
  deleteWaiting,
  getWaiting,
  leftSubscription,
  type SubRef,
  unlinkWaiting,
  type Waiting,
} from "./ordering.js";
import { type Counters, decodePending, encodePending, getPending, type Pending } from "./records.js";
import { addHolder, messageExpireAt } from "./retain.js";

const EMPTY = Buffer.alloc(0);

/** One seq a subscription holds: available (ready), leased/delayed (pending) or waiting behind its key. */
export interface HeldEntry {
  seq: number;
  priority: number;
  /** Delivery attempts so far of a ready or waiting entry (a pending one carries its own). */
  attempts: number;
  pending?: Pending;
  /** Waiting behind its ordering key's active message. */
  waiting?: Waiting;
}

/** The error for work above the replay bound (thrown before anything is written). */
export function replayLimit(what: string, maxEntries: number): BrokerError {
  return new BrokerError(
    "REPLAY_LIMIT",
    `${what} would touch more than ${maxEntries} messages in one step; nothing was changed`,
    { metadata: { limit: String(maxEntries) } },
  );
}

/** Reads every entry of a prefix in bounded batches, calling `each`; stops past `limit` entries. */
export function scanPrefix(
  r: KvReader,
  prefix: Buffer,
  limit: number,
  each: (key: Buffer, value: Buffer) => void,
  from: Buffer = prefix,
): number {
  const end = prefixEnd(prefix);
  let start = from;
  let n = 0;
  for (;;) {
    const batch = r.range({ start, end, limit: Math.min(1000, limit + 1 - n) });
    for (const { key, value } of batch) each(key, value);
    n += batch.length;
    if (batch.length === 0 || n > limit) return n;
    start = keyAfter((batch[batch.length - 1] as { key: Buffer }).key);
  }
}

/** Every seq the subscription holds; REPLAY_LIMIT when more than the bound. */
export function heldEntries(r: KvReader, subId: number, what: string, maxEntries: number): Map<number, HeldEntry> {
  const held = new Map<number, HeldEntry>();
  scanPrefix(r, idKey(Table.Ready, subId), maxEntries, (key, value) => {
    const { seq, priority } = parseReadyKey(key);
    held.set(seq, { seq, priority, attempts: decodeU32(value) });
  });
  if (held.size > maxEntries) throw replayLimit(what, maxEntries);
  scanPrefix(r, idKey(Table.Pending, subId), maxEntries - held.size, (key, value) => {
    const pending = decodePending(value);
    const seq = readU64(key, 5);
    held.set(seq, { seq, priority: pending.priority, attempts: pending.attempt, pending });
  });
  if (held.size > maxEntries) throw replayLimit(what, maxEntries);
  scanPrefix(r, idKey(Table.OrderWaiting, subId), maxEntries - held.size, (key, value) => {
    const seq = readU64(key, 5);
    const v = decodeWaiting(value);
    held.set(seq, { seq, priority: v.priority, attempts: v.attempts, waiting: v });
  });
  if (held.size > maxEntries) throw replayLimit(what, maxEntries);
  return held;
}

/**
 * Takes a held seq out of the subscription (the caller releases the message, and on an ordered
 * subscription passes the key on: see seek.ts).
 */
export function dropHeld(w: KvWriter, subId: number, e: HeldEntry, c: Counters): void {
  if (e.waiting) {
    deleteWaiting(w, subId, e.seq, e.waiting);
  } else if (e.pending) {
    w.del(seqKey(Table.Pending, subId, e.seq));
    w.del(dueKey(subId, e.pending.dueMs, e.seq));
    if (e.pending.state === "leased") c.inFlight--;
    else c.delayed--;
  } else {
    w.del(readyKey(subId, e.priority, e.seq));
  }
  c.unacked--;
}

/** What taking a stored message on needs to know of it (not its payload). */
export interface StoredHeader {
  priority: number;
  deliverAtMs: number;
  expireAtMs: number;
  /** UTF-8 bytes of the ordering key (empty: none). */
  orderingKey: Buffer;
}

/** Reads the header fields of an encoded message. */
export function storedHeader(raw: Buffer): StoredHeader {
  return {
    priority: messagePriority(raw),
    deliverAtMs: messageDeliverAt(raw),
    expireAtMs: messageExpireAt(raw),
    orderingKey: messageOrderingKeyBytes(raw),
  };
}

/**
 * Makes a stored message available (or delayed until its deliver time) on a subscription that
 * does not hold it, as a first delivery, and counts the subscription as a holder. A message
 * past its TTL is skipped (returns false).
 */
export function offerStored(
  w: KvWriter,
  topicId: number,
  subId: number,
  seq: number,
  m: StoredHeader,
  c: Counters,
  nowMs: number,
): boolean {
  if (m.expireAtMs > 0 && m.expireAtMs <= nowMs) return false;
  const { priority, deliverAtMs: deliverAt } = m;
  addHolder(w, topicId, seq);
  c.unacked++;
  if (deliverAt > nowMs) {
    c.delayed++;
    w.put(
      seqKey(Table.Pending, subId, seq),
      encodePending({ state: "delayed", dueMs: deliverAt, attempt: 0, priority }),
    );
    w.put(dueKey(subId, deliverAt, seq), EMPTY);
  } else {
    w.put(readyKey(subId, priority, seq), encodeU32(0));
  }
  return true;
}

/**
 * Takes a stored message out of one subscription wherever it is: ready, pending, or (ordered)
 * waiting behind its key; on an ordered subscription its key passes to the next message. The
 * caller releases the message. Returns false when the subscription did not hold it.
 */
export function dropFromSubscription(
  w: KvWriter,
  sub: SubRef,
  ordered: boolean,
  seq: number,
  raw: Buffer,
  nowMs: number,
  c: Counters,
): boolean {
  const p = getPending(w, sub.id, seq);
  const ready = p ? undefined : readyKey(sub.id, messagePriority(raw), seq);
  if (p) {
    w.del(seqKey(Table.Pending, sub.id, seq));
    w.del(dueKey(sub.id, p.dueMs, seq));
    if (p.state === "leased") c.inFlight--;
    else c.delayed--;
  } else if (ready && w.get(ready)) {
    w.del(ready);
  } else {
    const waiting = ordered ? getWaiting(w, sub.id, seq) : undefined;
    if (!waiting) return false;
    unlinkWaiting(w, sub.id, seq, waiting);
    c.unacked--;
    return true; // it was not active: its key stays as it is
  }
  c.unacked--;
  if (ordered) leftSubscription(w, sub, seq, messageOrderingKeyBytes(raw), nowMs, c);
  return true;
}
