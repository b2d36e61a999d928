/**
 * Peeking: the available messages in delivery order (or from its back), without leasing and
 * without changing the cursor (its due work is applied by the caller first). At most
 * {@link SCAN_BUDGET} unavailable entries are looked at per lane; messages are looked at through
 * views (their header), and only those returned are copied, up to the count and byte bounds.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
import { LANES, type Lane } from "./lane.js";
import { readLane, SCAN_BUDGET, untrackedState, viewMessage } from "./lane-reads.js";
import { deliveryBytes, messageExpireAt, messageOrderingKey, messagePriority } from "./message-codec.js";
import type { EngineState, TopicState } from "./state.js";

/** Log entries read per range call. */
const CHUNK = 256;

/** Is the message at the lane's scan position or later one the cursor would deliver now (peek)? */
function peekable(c: Cursor, lane: Lane, seq: number, raw: Buffer, nowMs: number, state: EngineState): boolean {
  if (c.tracked.has(seq) || lane.settled(seq)) return false;
  if (!c.wantsStored(raw)) return false;
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

/** A message chosen for a peek, not read yet. */
export interface Candidate {
  seq: number;
  lane: number;
  attempt: number;
}

/** What a peek returns, with its count and byte bounds (one message larger than the bytes still goes alone). */
export class PeekOut {
  readonly out: Peeked[] = [];
  private bytes = 0;
  private stopped = false;

  constructor(
    readonly limit: number,
    readonly maxBytes: number,
    readonly topic: string,
  ) {}

  get full(): boolean {
    return this.stopped || this.out.length >= this.limit;
  }

  /** Adds a message (copied from `view`) unless a bound stops here. */
  add(seq: number, lane: number, attempt: number, view: Buffer): boolean {
    if (this.full) return false;
    const size = deliveryBytes(view, this.topic);
    if (this.out.length > 0 && this.bytes + size > this.maxBytes) {
      this.stopped = true;
      return false;
    }
    this.bytes += size;
    this.out.push({ seq, lane, attempt, raw: Buffer.from(view) });
    return true;
  }

  /** Reads and adds candidates in order until a bound stops. */
  addAll(r: KvReader, t: TopicState, candidates: Iterable<Candidate>): void {
    for (const x of candidates) {
      if (this.full) return;
      const view = viewMessage(r, t, x.seq);
      if (view) this.add(x.seq, x.lane, x.attempt, view);
    }
  }
}

/** The tracked available entries of a lane (ascending seq): numbers only, nothing is read. */
export function readyOf(c: Cursor, lane: number, nowMs: number): Candidate[] {
  const out: Candidate[] = [];
  for (const e of c.tracked.values()) {
    if (e.state !== "ready" || e.lane !== lane) continue;
    if (e.meta.expireAtMs > 0 && e.meta.expireAtMs <= nowMs) continue;
    out.push({ seq: e.seq, lane, attempt: e.attempts + 1 });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * Lists available messages in delivery order without changing the cursor (the due work is
 * applied by the caller first), up to `limit` and `maxBytes`. At most {@link SCAN_BUDGET}
 * unavailable entries are looked at per lane.
 */
export function peekAvailable(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Peeked[] {
  const out = new PeekOut(limit, maxBytes, t.name);
  if (c.ordered) {
    out.addAll(r, t, orderedCandidates(state, r, t, c, limit, nowMs));
    return out.out;
  }
  for (let p = LANES - 1; p >= 0 && !out.full; p--) {
    out.addAll(r, t, readyOf(c, p, nowMs));
    peekUnread(state, r, t, c, p, nowMs, out, "forward");
  }
  return out.out;
}

/**
 * Adds to `out` the messages of lane `p` that the cursor has not read yet and that are available,
 * walking the log `forward` from the scan position or `back` from its end; at most
 * {@link SCAN_BUDGET} unavailable entries are looked at.
 */
export function peekUnread(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  p: number,
  nowMs: number,
  out: PeekOut,
  direction: "forward" | "back",
): void {
  const lane = c.lanes[p] as Lane;
  let from = lane.next;
  let before = Number.POSITIVE_INFINITY;
  let skipped = 0;
  while (!out.full && skipped < SCAN_BUDGET) {
    const batch =
      direction === "forward" ? readLane(r, t, p, from, CHUNK) : readLaneBack(r, t, p, lane.next, before, CHUNK);
    if (batch.length === 0) break;
    for (const seq of batch) {
      from = seq + 1;
      before = seq;
      if (out.full) break;
      const raw = viewMessage(r, t, seq);
      if (!raw || (p === 0 && messagePriority(raw) !== 0)) continue;
      if (!peekable(c, lane, seq, raw, nowMs, state)) {
        skipped++;
        continue;
      }
      out.add(seq, p, untrackedState(state, c, seq, p, raw).attempts + 1, raw);
    }
  }
}

/**
 * The available messages of an ordered subscription by priority then seq: the active messages it
 * tracks, and from its scan position on the first message of each free key (and messages without
 * a key). Numbers only; the scan looks at {@link SCAN_BUDGET} + `limit` log entries at most.
 */
export function orderedCandidates(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
): Candidate[] {
  const found: Candidate[] = [];
  for (let p = 0; p < LANES; p++) found.push(...readyOf(c, p, nowMs));
  const busy = new Set<string>();
  for (const [key, line] of c.lines) if (line.active !== 0 || line.waiting.length > 0) busy.add(key);
  let from = Math.max(t.head.logStart, Math.min(...c.lanes.map((l) => l.next)));
  let looked = 0;
  const end = t.durableSeq + 1;
  while (looked < SCAN_BUDGET + limit && from < end) {
    const batch = r.keys({
      start: seqKey(Table.Message, t.id, from),
      end: seqKey(Table.Message, t.id, end),
      limit: CHUNK,
    });
    if (batch.length === 0) break;
    for (const key of batch) {
      const seq = keySeq(key);
      from = seq + 1;
      looked++;
      const raw = r.view(key);
      if (!raw) continue;
      const p = messagePriority(raw);
      const lane = c.lanes[p] as Lane;
      if (c.tracked.has(seq) || lane.settled(seq) || !c.wantsStored(raw)) continue;
      const k = messageOrderingKey(raw);
      if (k !== "") {
        if (busy.has(k)) continue;
        busy.add(k); // its first message holds the key, available or not
      }
      if (peekable(c, lane, seq, raw, nowMs, state)) {
        found.push({ seq, lane: p, attempt: untrackedState(state, c, seq, p, raw).attempts + 1 });
      }
    }
  }
  return found.sort((a, b) => b.lane - a.lane || a.seq - b.seq);
}

/** The seqs of the last lane entries below `before`, descending (peek from the back); keys only. */
function readLaneBack(
  r: KvReader,
  t: TopicState,
  lane: number,
  after: number,
  before: number,
  limit: number,
): number[] {
  const from = Math.max(after, t.head.logStart);
  const end = Math.min(before, t.durableSeq + 1);
  if (end <= from) return [];
  if (lane === 0) {
    return r
      .keys({ start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit, reverse: true })
      .map(keySeq);
  }
  return r
    .keys({ start: laneKey(t.id, lane, from), end: laneKey(t.id, lane, end), limit, reverse: true })
    .map(laneKeySeq);
}
