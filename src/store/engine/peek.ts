/**
 * Peeking: the available messages in delivery order (or from its back), without leasing and
 * without changing the cursor (its due work is applied by the caller first). At most
 * {@link SCAN_BUDGET} unavailable entries are looked at per lane.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { readLane, SCAN_BUDGET, untrackedState } from "./deliver.js";
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
import { LANES, type Lane } from "./lane.js";
import {
  messageAttributes,
  messageExpireAt,
  messageOnlyFor,
  messageOrderingKey,
  messagePriority,
} from "./message-codec.js";
import type { EngineState, TopicState } from "./state.js";

/** Log entries read per range call. */
const CHUNK = 256;

/** Is the message at the lane's scan position or later one the cursor would deliver now (peek)? */
export function peekable(c: Cursor, lane: Lane, seq: number, raw: Buffer, nowMs: number, state: EngineState): boolean {
  if (c.tracked.has(seq) || lane.settled(seq)) return false;
  if (!c.wants(messageOnlyFor(raw), () => messageAttributes(raw))) return false;
  const expireAt = messageExpireAt(raw);
  if (expireAt > 0 && expireAt <= nowMs) return false;
  return untrackedState(state, c, seq, lane.priority, raw).dueMs <= nowMs;
}

/** A peeked message: seq, lane, attempt and raw value. */
export interface Peeked {
  seq: number;
  lane: number;
  attempt: number;
  raw: Buffer;
}

/** The tracked available entries of a lane (ascending seq), with their messages. */
export function readyOf(r: KvReader, t: TopicState, c: Cursor, lane: number, nowMs: number): Peeked[] {
  const out: Peeked[] = [];
  for (const e of c.tracked.values()) {
    if (e.state !== "ready" || e.lane !== lane) continue;
    if (e.meta.expireAtMs > 0 && e.meta.expireAtMs <= nowMs) continue;
    const raw = r.get(seqKey(Table.Message, t.id, e.seq));
    if (raw) out.push({ seq: e.seq, lane, attempt: e.attempts + 1, raw });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Lists up to `limit` available messages in delivery order without changing the cursor (the
 * due work is applied by the caller first). At most {@link SCAN_BUDGET} unavailable entries
 * are looked at per lane.
 */
export function peekAvailable(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
): Peeked[] {
  if (c.ordered) return peekOrdered(state, r, t, c, limit, nowMs);
  const out: Peeked[] = [];
  for (let p = LANES - 1; p >= 0 && out.length < limit; p--) {
    const lane = c.lanes[p] as Lane;
    for (const x of readyOf(r, t, c, p, nowMs)) {
      if (out.length >= limit) return out;
      out.push(x);
    }
    let from = lane.next;
    let skipped = 0;
    while (out.length < limit && skipped < SCAN_BUDGET) {
      const batch = readLane(r, t, p, from, CHUNK);
      if (batch.length === 0) break;
      for (const { seq, raw } of batch) {
        from = seq + 1;
        if (out.length >= limit) break;
        if (!raw || (p === 0 && messagePriority(raw) !== 0)) continue;
        if (!peekable(c, lane, seq, raw, nowMs, state)) {
          skipped++;
          continue;
        }
        out.push({ seq, lane: p, attempt: untrackedState(state, c, seq, p, raw).attempts + 1, raw });
      }
    }
  }
  return out;
}

/**
 * Peek on an ordered subscription: the active messages it tracks, and from its scan position on
 * the first message of each free key (and messages without a key), by priority then seq.
 */
function peekOrdered(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
): Peeked[] {
  const found: Peeked[] = [];
  for (let p = 0; p < LANES; p++) found.push(...readyOf(r, t, c, p, nowMs));
  const busy = new Set<string>();
  for (const [key, line] of c.lines) if (line.active !== 0 || line.waiting.length > 0) busy.add(key);
  let from = Math.max(t.head.logStart, Math.min(...c.lanes.map((l) => l.next)));
  let looked = 0;
  const end = t.durableSeq + 1;
  while (looked < SCAN_BUDGET + limit && from < end) {
    const batch = r.range({
      start: seqKey(Table.Message, t.id, from),
      end: seqKey(Table.Message, t.id, end),
      limit: CHUNK,
    });
    if (batch.length === 0) break;
    for (const { key, value: raw } of batch) {
      const seq = keySeq(key);
      from = seq + 1;
      looked++;
      const p = messagePriority(raw);
      const lane = c.lanes[p] as Lane;
      if (c.tracked.has(seq) || lane.settled(seq) || !c.wants(messageOnlyFor(raw), () => messageAttributes(raw)))
        continue;
      const k = messageOrderingKey(raw);
      if (k !== "") {
        if (busy.has(k)) continue;
        busy.add(k); // its first message holds the key, available or not
      }
      if (peekable(c, lane, seq, raw, nowMs, state)) {
        found.push({ seq, lane: p, attempt: untrackedState(state, c, seq, p, raw).attempts + 1, raw });
      }
    }
  }
  found.sort((a, b) => b.lane - a.lane || a.seq - b.seq);
  return found.slice(0, limit);
}

/** Reads the last lane entries below `before`, descending (peek from the back). */
export function readLaneBack(r: KvReader, t: TopicState, lane: number, after: number, before: number, limit: number) {
  const from = Math.max(after, t.head.logStart);
  const end = Math.min(before, t.durableSeq + 1);
  if (end <= from) return [];
  if (lane === 0) {
    return r
      .range({ start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit, reverse: true })
      .map((e) => ({ seq: keySeq(e.key), raw: e.value as Buffer | undefined }));
  }
  const keys = r.range({ start: laneKey(t.id, lane, from), end: laneKey(t.id, lane, end), limit, reverse: true });
  return keys.map((e) => {
    const seq = laneKeySeq(e.key);
    return { seq, raw: r.get(seqKey(Table.Message, t.id, seq)) };
  });
}
