/**
 * Delivery reads the log; it does not write. A subscription hands out, by priority and then seq,
 * first what it tracks as available again (nacked, expired leases, elapsed delays), then reads
 * each lane from its scan position: lane 0 is the log itself (other priorities skipped), lanes
 * 1..9 their lane index. On the way it keeps what it cannot hand out yet (delayed, past its TTL)
 * and steps over what it does not take (filtered out, acked ahead by id). An ordered subscription
 * reads the log in seq order instead (an ordering key spans priorities), lines up each key's
 * messages, and hands out the available ones by priority.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { keySeq, seqKey, Table } from "./keys.js";
import type { Lane } from "./lane.js";
import { LANES } from "./lane.js";
import {
  adopt,
  CHUNK,
  keptMessage,
  MAX_TRACKED,
  markGone,
  newEntry,
  readLane,
  SCAN_BUDGET,
  untrackedState,
  viewMessage,
} from "./lane-reads.js";
import { decodeMessage, messageDeliverAt, messageExpireAt, messagePriority } from "./message-codec.js";
import { type Picked, Picker, type PickOptions, valuesChunk } from "./picker.js";
import { scanOrdered } from "./scan-ordered.js";
import type { EngineState, TopicState } from "./state.js";

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
    if (!pk.take(seq, lane.priority, e.attempts + 1, e, raw, keptMessage(t, seq) === raw)) return;
    dropCopies(lane, seq);
  }
}

/**
 * Pops every copy of `seq` off the lane's ready heap (lazy: copies are checked against the entry
 * on use). An entry that becomes ready again before its old copy was popped has two copies there,
 * both valid by its state: a message available already and nacked again by id, or moved away and
 * back before a delivery took it (nacked by id to later, or extended after a nack and then nacked
 * or run out again). Taking one must drop the other, or one hand-out takes the message twice
 * (and auto-ack settles it twice, counting it out of `unacked` twice).
 */
function dropCopies(lane: Lane, seq: number): void {
  while (lane.ready.peekKey() === seq) lane.ready.pop();
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
): void {
  const now = pk.o.nowMs;
  const p = lane.priority;
  if (p > 0 && lane.next > (t.laneLast[p] as number)) {
    // Nothing in this lane's index from its scan position on: what a read would find, unread.
    if (t.durableSeq >= lane.next) stepOver(lane, t.durableSeq);
    return;
  }
  /**
   * Looks at the lane's `seq`; `raw` is its stored message as a view when the read brought it
   * (else it is read here), `kept` when that is a value nobody changes (the log tail's: handed
   * out without a copy). False: this lane's scan ends (the hand-out is full or stopped, the
   * tracking bound).
   */
  const look = (seq: number, raw: Buffer | undefined, kept: boolean): boolean => {
    if (pk.full) return false;
    if (c.tracked.has(seq)) {
      keep(lane, seq);
      return true;
    }
    const view = lane.settled(seq) ? undefined : (raw ?? viewMessage(r, t, seq));
    // A value of the log tail's is handed out without a copy (it is never changed or reused).
    const own = raw === undefined ? view !== undefined && keptMessage(t, seq) === view : kept;
    if (!view || (p === 0 && messagePriority(view) !== 0)) {
      stepOver(lane, seq);
      return true;
    }
    if (!c.wantsStored(view)) {
      stepOver(lane, seq);
      if (--budget.n > 0) return true;
      c.scanIncomplete = true;
      pk.stopped = true;
      return false;
    }
    const expireAt = messageExpireAt(view);
    if (expireAt > 0 && expireAt <= now) {
      c.track(newEntry(seq, view, undefined, "gone"));
      keep(lane, seq);
      return true;
    }
    // The common case, without untrackedState's record: nothing known of the seq (no nack, no
    // failed attempt), above the scan mark a restart loaded, and due: its first attempt.
    if (c.known.size === 0 && seq >= lane.loadMark && messageDeliverAt(view) <= now) {
      if (!pk.take(seq, p, 1, undefined, view, own)) return false;
      keep(lane, seq);
      return true;
    }
    const s = untrackedState(state, c, seq, p, view);
    if (s.dueMs > now) {
      if (c.tracked.size >= MAX_TRACKED) return false;
      const e = newEntry(seq, view, decodeMessage(view, t.name, seq), "delayed");
      adopt(c, e, s);
      e.dueMs = s.dueMs;
      c.track(e);
      keep(lane, seq);
      return true;
    }
    if (!pk.take(seq, p, s.attempts + 1, undefined, view, own)) return false;
    keep(lane, seq);
    return true;
  };
  // Lane 0 is the log itself: while the hand-out takes most of what it reads, one walk brings
  // the messages with their keys as views (KvReader.scan: no copy but of what is taken), as many
  // as the hand-out can use. Once a read took less than half of what it brought (stepping over
  // other lanes' or filtered-out messages), and on lanes 1..9 (an index of seqs), reads are of
  // keys only, and each message is looked at as a view.
  let withValues = p === 0;
  // The largest message a read with values brought: a read with values is bounded by the bytes
  // the hand-out may still take, so large messages past its byte bound are not read for nothing.
  let sizeHint = 0;
  let going = true;
  while (going && !pk.full) {
    const takenBefore = pk.out.length;
    let read = 0;
    if (withValues) {
      const end = t.durableSeq + 1;
      const from = Math.max(lane.next, t.head.logStart);
      const limit = valuesChunk(pk, sizeHint || lane.sizeHint, CHUNK);
      if (from < end) {
        // The log's recent end is in memory (log-tail.ts) when the consumer keeps up.
        const fromTail = t.tail.scan(from, end, limit, (seq, value) => {
          if (value.length > sizeHint) sizeHint = value.length;
          going = look(seq, value, true);
          return going;
        });
        if (fromTail !== undefined) read = fromTail;
        else {
          const range = { start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit };
          read = r.scan(range, (key, view) => {
            if (view.length > sizeHint) sizeHint = view.length;
            going = look(keySeq(key), view, false);
            return going;
          });
        }
      }
    } else {
      const batch = readLane(r, t, p, lane.next, CHUNK);
      read = batch.length;
      for (let i = 0; going && i < batch.length; i++) going = look(batch[i] as number, undefined, false);
    }
    if (read === 0) {
      // The end: nothing from the scan position to the durable end is this lane's.
      if (t.durableSeq >= lane.next) stepOver(lane, t.durableSeq);
      return;
    }
    if (withValues && 2 * (pk.out.length - takenBefore) < read) withValues = false;
    if (sizeHint > 0) lane.sizeHint = sizeHint;
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
 * Picks up to `max` messages (and `maxBytes`) in delivery order, updating the cursor's scan
 * positions and what it tracks. The caller leases the picks (or settles them, auto-ack).
 */
export function pick(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  o: PickOptions,
  end?: { stopped: boolean; bytes: number },
): Picked[] {
  const pk = new Picker(o, t.name, t.cursors.size > 1 ? t.tail : undefined);
  const budget = { n: SCAN_BUDGET };
  c.scanIncomplete = false;
  if (c.ordered) scanOrdered(state, r, t, c, o, budget);
  for (let p = LANES - 1; p >= 0 && !pk.full; p--) {
    const lane = c.lanes[p] as Lane;
    takeReady(r, t, c, lane, pk);
    if (!c.ordered && !pk.full && c.tracked.size < MAX_TRACKED) scanLane(state, r, t, c, lane, pk, budget);
  }
  if (end) {
    end.stopped = pk.stopped; // by the bytes bound or the scan budget
    end.bytes = pk.bytesTaken;
  }
  return pk.out;
}
