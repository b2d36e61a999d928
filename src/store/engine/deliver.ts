/**
 * Delivery reads the log; it does not write. A subscription hands out, by priority and then seq,
 * first what it tracks as available again (nacked, expired leases, elapsed delays), then reads
 * each lane from its scan position: lane 0 is the log itself (other priorities skipped), lanes
 * 1..9 their lane index. On the way it keeps what it cannot hand out yet (delayed, past its TTL)
 * and steps over what it does not take (filtered out, acked ahead by id). An ordered subscription
 * reads the log in seq order instead (an ordering key spans priorities), lines up each key's
 * messages, and hands out the available ones by priority.
 */
import type { StoredMessage } from "../../model/index.js";
import type { KvReader } from "../kv/kv.js";
import type { Cursor, Entry } from "./cursor.js";
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
import type { Lane } from "./lane.js";
import { LANES } from "./lane.js";
import {
  decodeMessage,
  type MessageMeta,
  messageDeliverAt,
  messageExpireAt,
  messageIdGenerated,
  messageOnlyFor,
  messageOrderingKey,
  messagePriority,
} from "./message-codec.js";
import { leaveLine, lineOf } from "./ordering-lines.js";
import { metaOf, type Picked, Picker, type PickOptions, valuesChunk } from "./picker.js";
import type { EngineState, TopicState } from "./state.js";

/**
 * Entries a scan may step over without taking anything (filtered out, other lanes) in one call;
 * past it the call ends and the cursor reports more to read at once (see {@link Cursor.scanIncomplete}).
 */
export const SCAN_BUDGET = 10_000;
/**
 * Most messages a subscription tracks in memory (in flight, delayed, waiting behind a key);
 * at the bound it reads no further until some settle.
 */
export const MAX_TRACKED = 100_000;
/** Log entries read per range call. */
const CHUNK = 256;

/** A new tracked entry for a message read from the log. */
export function newEntry(seq: number, raw: Buffer, m: StoredMessage | undefined, state: Entry["state"]): Entry {
  const meta: MessageMeta = m
    ? metaOf(m, messageOnlyFor(raw), messageIdGenerated(raw))
    : {
        size: 0,
        priority: messagePriority(raw),
        publishMs: 0,
        deliverAtMs: messageDeliverAt(raw),
        expireAtMs: messageExpireAt(raw),
        id: "",
        onlyFor: messageOnlyFor(raw),
        generatedId: messageIdGenerated(raw),
      };
  return { seq, lane: meta.priority, state, attempts: 0, dueMs: 0, batch: undefined, meta, key: "", persisted: false };
}

/**
 * The seqs of a lane from `after` up to the durable end, at most `limit`: keys only (lane 0 the
 * log's keys, lanes 1..9 their index), so stepping over messages costs no copy of them; the
 * caller reads each message it looks at as a view (KvReader.view).
 */
export function readLane(r: KvReader, t: TopicState, lane: number, after: number, limit: number): number[] {
  const end = t.durableSeq + 1;
  // Below the log's start everything is purged (its deletion may still be running).
  const from = Math.max(after, t.head.logStart);
  if (from >= end) return [];
  if (lane === 0) {
    return r
      .keys({ start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit })
      .map(keySeq);
  }
  return r.keys({ start: laneKey(t.id, lane, from), end: laneKey(t.id, lane, end), limit }).map(laneKeySeq);
}

/**
 * The log's entries (lane 0's seqs and their stored messages, copies) from `after` up to the
 * durable end, at most `limit`: one range walk instead of a key walk plus a read per message.
 */
function readLogEntries(
  r: KvReader,
  t: TopicState,
  after: number,
  limit: number,
): { seqs: number[]; values: Buffer[] } {
  const end = t.durableSeq + 1;
  const from = Math.max(after, t.head.logStart);
  if (from >= end) return { seqs: [], values: [] };
  const entries = r.range({ start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit });
  const seqs: number[] = new Array(entries.length);
  const values: Buffer[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as { key: Buffer; value: Buffer };
    seqs[i] = keySeq(e.key);
    // An engine may hand a large value over as a plain Uint8Array: a Buffer over it, no copy.
    const v = e.value;
    values[i] = Buffer.isBuffer(v)
      ? v
      : Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).length);
  }
  return { seqs, values };
}

/** A view of the stored message at `seq` (valid until the next read). */
export function viewMessage(r: KvReader, t: TopicState, seq: number): Buffer | undefined {
  return r.view(seqKey(Table.Message, t.id, seq));
}

/** Marks a tracked message past its TTL: it leaves in the next write; its key passes on now. */
export function markGone(c: Cursor, e: Entry, nowMs: number): void {
  c.move(e, "gone");
  leaveLine(c, e.seq, e.key, nowMs);
}

/** Takes the lane's tracked available entries, in seq order. */
function takeReady(r: KvReader, t: TopicState, c: Cursor, lane: Lane, pk: Picker): void {
  const now = pk.o.nowMs;
  while (!pk.full) {
    const seq = lane.ready.peekKey();
    if (seq === undefined) return;
    const e = c.tracked.get(seq);
    if (e?.state !== "ready" || e.lane !== lane.priority) {
      lane.ready.pop();
      continue;
    }
    if (e.meta.expireAtMs > 0 && e.meta.expireAtMs <= now) {
      lane.ready.pop();
      markGone(c, e, now);
      continue;
    }
    const raw = viewMessage(r, t, seq);
    if (!raw) {
      // Deleted under it (purged): nothing to deliver.
      lane.ready.pop();
      c.untrack(e);
      continue;
    }
    if (!pk.take(seq, lane.priority, e.attempts + 1, e, raw)) return;
    lane.ready.pop();
  }
}

/**
 * What the cursor does with an unscanned message it does not skip: its attempts so far and the
 * time it is due (deliver time, or a nack's delay known for it).
 */
function untrackedState(state: EngineState, c: Cursor, seq: number, lane: number, raw: Buffer) {
  const known = c.known.get(seq);
  const deliverAt = messageDeliverAt(raw);
  const attempts = c.untrackedAttempts(seq, lane, deliverAt, state.loadedMs);
  return { attempts, dueMs: Math.max(deliverAt, known?.dueMs ?? 0), persisted: known?.persisted ?? false };
}

/** Moves the `known` state of a seq into its new entry. */
function adopt(c: Cursor, e: Entry, s: { attempts: number; dueMs: number; persisted: boolean }): void {
  e.attempts = s.attempts;
  e.persisted = s.persisted;
  c.known.delete(e.seq);
}

/** Reads an unordered lane from its scan position, taking what is available. */
function scanLane(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  lane: Lane,
  pk: Picker,
  budget: { n: number },
) {
  const now = pk.o.nowMs;
  const p = lane.priority;
  // Lane 0 is the log itself: while the hand-out takes most of what it reads, a read brings the
  // messages with their keys (one walk, each value copied once, as a take would copy it), as
  // many as the hand-out can use. Once a read took less than half
  // of what it brought (stepping over other lanes' or filtered-out messages), and on lanes 1..9
  // (an index of seqs), reads are of keys only, and each message is looked at as a view.
  let withValues = p === 0;
  // The largest message a read with values brought: a read with values is bounded by the bytes
  // the hand-out may still take, so large messages past its byte bound are not copied for nothing.
  let sizeHint = 0;
  while (!pk.full) {
    const chunk = withValues ? valuesChunk(pk, sizeHint, CHUNK) : CHUNK;
    const read = withValues ? readLogEntries(r, t, lane.next, chunk) : undefined;
    if (read) for (const v of read.values) if (v.length > sizeHint) sizeHint = v.length;
    // (read.values[i] is the message of read.seqs[i].)
    const batch = read ? read.seqs : readLane(r, t, p, lane.next, chunk);
    if (batch.length === 0) {
      // The end: nothing from the scan position to the durable end is this lane's.
      if (t.durableSeq >= lane.next) stepOver(lane, t.durableSeq);
      return;
    }
    const takenBefore = pk.out.length;
    for (let i = 0; i < batch.length; i++) {
      const seq = batch[i] as number;
      if (pk.full) return;
      if (c.tracked.has(seq)) {
        keep(lane, seq);
        continue;
      }
      const raw = lane.settled(seq) ? undefined : read ? read.values[i] : viewMessage(r, t, seq);
      if (!raw || (p === 0 && messagePriority(raw) !== 0)) {
        stepOver(lane, seq);
        continue;
      }
      if (!c.wantsStored(raw)) {
        stepOver(lane, seq);
        if (--budget.n <= 0) {
          c.scanIncomplete = true;
          pk.stopped = true;
          return;
        }
        continue;
      }
      const expireAt = messageExpireAt(raw);
      if (expireAt > 0 && expireAt <= now) {
        c.track(newEntry(seq, raw, undefined, "gone"));
        keep(lane, seq);
        continue;
      }
      // The common case, without untrackedState's record: nothing known of the seq (no nack, no
      // failed attempt), above the scan mark a restart loaded, and due: its first attempt.
      if (c.known.size === 0 && seq >= lane.loadMark && messageDeliverAt(raw) <= now) {
        if (!pk.take(seq, p, 1, undefined, raw, read !== undefined)) return;
        keep(lane, seq);
        continue;
      }
      const s = untrackedState(state, c, seq, p, raw);
      if (s.dueMs > now) {
        if (c.tracked.size >= MAX_TRACKED) return;
        const e = newEntry(seq, raw, decodeMessage(raw, t.name, seq), "delayed");
        adopt(c, e, s);
        e.dueMs = s.dueMs;
        c.track(e);
        keep(lane, seq);
        continue;
      }
      if (!pk.take(seq, p, s.attempts + 1, undefined, raw, read !== undefined)) return;
      keep(lane, seq);
    }
    if (read && 2 * (pk.out.length - takenBefore) < batch.length) withValues = false;
  }
}

/**
 * The scan looked at `seq` and the subscription holds it (tracked, or taken now). The seqs it
 * jumped over to get there are not this lane's held messages (another lane's, or gone from the
 * log): they are settled, so they merge with the acks around them into one range.
 */
function keep(lane: Lane, seq: number): void {
  if (seq < lane.next) return;
  if (seq > lane.next) lane.settleRange(lane.next, seq - 1);
  lane.next = seq + 1;
}

/** The scan steps over `seq` (and what it jumped over) without taking it: settled (see {@link keep}). */
function stepOver(lane: Lane, seq: number): void {
  if (seq < lane.next) return;
  lane.settleRange(lane.next, seq);
  lane.next = seq + 1;
}

/**
 * Reads an ordered subscription's log in seq order from its scan position, lining up keyed
 * messages: the first of a free key becomes its active message, later ones wait. Stops after
 * `max` newly available messages, at the end, at the scan budget or at the tracking bound.
 */
function scanOrdered(state: EngineState, r: KvReader, t: TopicState, c: Cursor, o: PickOptions, budget: { n: number }) {
  const now = o.nowMs;
  const lanes = c.lanes;
  let next = Math.max(t.head.logStart, Math.min(...lanes.map((l) => l.next)));
  let fresh = 0;
  const end = t.durableSeq + 1;
  scan: while (fresh < o.max && next < end) {
    const batch = r.keys({
      start: seqKey(Table.Message, t.id, next),
      end: seqKey(Table.Message, t.id, end),
      limit: CHUNK,
    });
    if (batch.length === 0) {
      next = end;
      break;
    }
    for (const key of batch) {
      const seq = keySeq(key);
      if (fresh >= o.max || c.tracked.size >= MAX_TRACKED) break scan;
      const raw = r.view(key);
      if (!raw) {
        next = seq + 1;
        continue;
      }
      const p = messagePriority(raw);
      const lane = lanes[p] as Lane;
      if (c.tracked.has(seq) || lane.settled(seq)) {
        next = seq + 1;
        continue;
      }
      if (!c.wantsStored(raw)) {
        next = seq + 1;
        if (--budget.n <= 0) {
          c.scanIncomplete = true;
          break scan;
        }
        continue;
      }
      const expireAt = messageExpireAt(raw);
      if (expireAt > 0 && expireAt <= now) {
        c.track(newEntry(seq, raw, undefined, "gone"));
        next = seq + 1;
        continue;
      }
      const s = untrackedState(state, c, seq, p, raw);
      const e = newEntry(seq, raw, decodeMessage(raw, t.name, seq), "ready");
      adopt(c, e, s);
      e.key = messageOrderingKey(raw);
      e.dueMs = s.dueMs;
      const line = e.key === "" ? undefined : lineOf(c, e.key);
      if (line && line.active !== 0) {
        e.state = "waiting";
        const w = line.waiting;
        if (w.length === 0 || (w[w.length - 1] as number) < seq) w.push(seq);
        else w.splice(sortedIndex(w, seq), 0, seq);
      } else {
        if (line) line.active = seq;
        if (s.dueMs > now) e.state = "delayed";
        else {
          e.dueMs = 0;
          fresh++;
        }
      }
      c.track(e);
      next = seq + 1;
    }
  }
  for (const l of lanes) l.next = Math.max(l.next, next);
}

/** Where `seq` goes in an ascending array. */
function sortedIndex(a: number[], seq: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Picks up to `max` messages (and `maxBytes`) in delivery order, updating the cursor's scan
 * positions and what it tracks. The caller leases the picks (or settles them, auto-ack).
 */
export function pick(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  o: PickOptions,
  end?: { stopped: boolean },
): Picked[] {
  const pk = new Picker(o, t.name);
  const budget = { n: SCAN_BUDGET };
  c.scanIncomplete = false;
  if (c.ordered) scanOrdered(state, r, t, c, o, budget);
  for (let p = LANES - 1; p >= 0 && !pk.full; p--) {
    const lane = c.lanes[p] as Lane;
    takeReady(r, t, c, lane, pk);
    if (!c.ordered && !pk.full && c.tracked.size < MAX_TRACKED) scanLane(state, r, t, c, lane, pk, budget);
  }
  if (end) end.stopped = pk.stopped; // by the bytes bound or the scan budget
  return pk.out;
}

export { untrackedState };
