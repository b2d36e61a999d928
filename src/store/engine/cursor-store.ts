/**
 * Persistence of the in-memory records: topic heads, cursors (counters, per lane the ack floor
 * and scan mark, acked ranges, per-message states) and snapshots' captured cursors. Each write
 * puts only what changed.
 */
import type { KvReader, KvWriter } from "../kv/kv.js";
import { Cursor } from "./cursor.js";
import { idKey, keySeq, parseRangeKey, prefixEnd, rangeKey, releasedKey, seqKey, Table } from "./keys.js";
import { LANES } from "./lane.js";
import { RangeSet } from "./range-set.js";
import type { Head, TopicState } from "./state.js";
import { decodeF64s, decodeMsgState, decodeU64, encodeF64s, encodeMsgState, encodeU64 } from "./table-values.js";

const CURSOR_VERSION = 1;
/** Cursor record: version, unacked, deadLettered, countFrom, countTo, then floor and mark per lane. */
const CURSOR_FIXED = 1 + 4 * 8;
const CURSOR_BYTES = CURSOR_FIXED + LANES * 16;

/** Reads a topic's head. */
export function readHead(r: KvReader, topicId: number): Head {
  const [lastSeq = 0, messages = 0, bytes = 0, logStart = 1] = decodeF64s(r.get(idKey(Table.Head, topicId)), 4);
  return { lastSeq, messages, bytes, logStart: logStart || 1 };
}

/** Writes a topic's head and the released ranges that changed since the last write. */
export function writeHead(w: KvWriter, t: TopicState): void {
  const h = t.head;
  w.put(idKey(Table.Head, t.id), encodeF64s(h.lastSeq, h.messages, h.bytes, h.logStart));
  for (const start of t.released.takeChanged()) {
    const end = t.released.endAt(start);
    if (end !== undefined) {
      w.put(releasedKey(t.id, start), encodeU64(end));
      t.releasedStored.add(start);
    } else if (t.releasedStored.delete(start)) w.del(releasedKey(t.id, start));
  }
}

/** Loads a topic's released ranges (their number is small: the log's gaps, not its messages). */
export function readReleased(r: KvReader, t: TopicState): void {
  const prefix = idKey(Table.Released, t.id);
  for (const { key, value } of r.range({ start: prefix, end: prefixEnd(prefix) })) {
    const start = keySeq(key);
    t.released.addRange(start, decodeU64(value));
    t.releasedStored.add(start);
    t.trimScan.addRange(start, decodeU64(value)); // what they hold is not known: the trim reads it
  }
  t.released.takeChanged(); // as stored: nothing to write
  t.trimScan.takeChanged();
}

/**
 * Persists a cursor: the record (floors recomputed first), the acked ranges that changed, and
 * the per-message states recorded since the last write. Returns true when it wrote states.
 */
export function writeCursor(w: KvWriter, c: Cursor): boolean {
  const states = c.dirtyStates.size > 0;
  c.normalize();
  const b = Buffer.allocUnsafe(CURSOR_BYTES);
  b[0] = CURSOR_VERSION;
  b.writeDoubleBE(c.unacked, 1);
  b.writeDoubleBE(c.deadLettered, 9);
  b.writeDoubleBE(c.countFrom, 17);
  b.writeDoubleBE(c.countTo, 25);
  for (let p = 0; p < LANES; p++) {
    const l = c.lanes[p];
    if (!l) continue;
    b.writeDoubleBE(l.floor, CURSOR_FIXED + p * 16);
    // The scan mark tells a restart what was probably delivered (unordered subscriptions only:
    // an ordered one looks at messages it cannot deliver yet).
    b.writeDoubleBE(c.ordered ? 0 : l.next, CURSOR_FIXED + p * 16 + 8);
    // Only the ranges that changed since the last write: O(changes), not O(ranges).
    for (const start of l.ranges.takeChanged()) {
      const end = l.ranges.endAt(start);
      if (end !== undefined) {
        w.put(rangeKey(Table.AckRange, c.id, p, start), encodeU64(end));
        l.stored.add(start);
      } else if (l.stored.delete(start)) w.del(rangeKey(Table.AckRange, c.id, p, start));
    }
  }
  w.put(idKey(Table.Cursor, c.id), b);
  for (const [seq, s] of c.dirtyStates) {
    const key = seqKey(Table.MsgState, c.id, seq);
    if (s) w.put(key, encodeMsgState(s.attempts, s.dueMs));
    else w.del(key);
  }
  c.dirtyStates.clear();
  c.dirty = false;
  return states;
}

/** Loads a cursor from its records; a missing record means a fresh cursor at `startSeq`. */
export function readCursor(r: KvReader, c: Cursor): void {
  const raw = r.get(idKey(Table.Cursor, c.id));
  if (!raw || raw.length < CURSOR_BYTES) return;
  if (raw[0] !== CURSOR_VERSION) throw new Error(`unknown cursor record version ${raw[0]}`);
  c.unacked = raw.readDoubleBE(1);
  c.deadLettered = raw.readDoubleBE(9);
  c.countFrom = raw.readDoubleBE(17);
  c.countTo = raw.readDoubleBE(25);
  for (let p = 0; p < LANES; p++) {
    const l = c.lanes[p];
    if (!l) continue;
    l.floor = raw.readDoubleBE(CURSOR_FIXED + p * 16);
    l.next = l.floor;
    l.loadMark = raw.readDoubleBE(CURSOR_FIXED + p * 16 + 8);
  }
  const ranges = idKey(Table.AckRange, c.id);
  for (const { key, value } of r.range({ start: ranges, end: prefixEnd(ranges) })) {
    const { lane, start } = parseRangeKey(key);
    const l = c.lanes[lane];
    if (!l) continue;
    const end = decodeU64(value);
    l.ranges.addRange(start, end);
    l.stored.add(start);
  }
  for (const l of c.lanes) l.ranges.takeChanged(); // as stored: nothing to write
  const states = idKey(Table.MsgState, c.id);
  for (const { key, value } of r.range({ start: states, end: prefixEnd(states) })) {
    const s = decodeMsgState(value);
    c.setKnown(keySeq(key), { ...s, persisted: true });
  }
}

/** Deletes every record of a cursor except the subscription record (bounded: see jobs.ts). */
export function cursorPrefixes(subId: number): Buffer[] {
  return [idKey(Table.AckRange, subId), idKey(Table.MsgState, subId)];
}

/** Writes a snapshot's captured ranges. */
export function writeSnapshotRanges(w: KvWriter, snapId: number, lanes: { ranges: RangeSet }[]): void {
  lanes.forEach((l, p) => {
    for (const [start, end] of l.ranges.entries())
      w.put(rangeKey(Table.SnapshotRange, snapId, p, start), encodeU64(end));
  });
}

/** Reads a snapshot's captured ranges. */
export function readSnapshotRanges(r: KvReader, snapId: number): RangeSet[] {
  const out = Array.from({ length: LANES }, () => new RangeSet());
  const prefix = idKey(Table.SnapshotRange, snapId);
  for (const { key, value } of r.range({ start: prefix, end: prefixEnd(prefix) })) {
    const { lane, start } = parseRangeKey(key);
    out[lane]?.addRange(start, decodeU64(value));
  }
  return out;
}

/** A fresh in-memory cursor for a subscription record (floors at `startSeq`). */
export function newCursor(record: ConstructorParameters<typeof Cursor>[0], startSeq: number): Cursor {
  return new Cursor(record, startSeq);
}
