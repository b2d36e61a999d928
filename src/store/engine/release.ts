/**
 * When a message leaves the log: once no subscription holds it (each has acked it, filters it
 * out, or has moved past it), no snapshot captured it and the topic's retention does not keep it.
 * Operations that settle messages call {@link release} for each; cursor moves over many messages
 * (purge, DeleteSubscription, a subscription starting earlier) hand the range to a background job
 * instead (jobs.ts), so no operation walks an unbounded part of the log in one transaction.
 *
 * Leaving is in two parts. {@link release} is logical and cheap: the seq joins the topic's
 * released ranges (written once per range that changed, with the head), the head stops counting
 * it and its id is freed; from then on every reader treats it as gone. The trim (trim.ts) deletes
 * its log and index entries later, in bulk, in background steps: an ack deletes nothing.
 */

import type { KvReader } from "../kv/kv.js";
import { matchesFilter } from "./fan-out.js";
import { idStringKey, laneKey, seqKey, Table, timeSeqKey, topicDueKey } from "./keys.js";
import { type MessageMeta, messageAttributes } from "./message-codec.js";
import type { SnapshotState, TopicState } from "./state.js";
import { decodeMessageIdEntry } from "./table-values.js";
import type { Tx } from "./tx.js";

/** Does a snapshot hold the stored message (captured it unacked)? */
export function snapshotHolds(
  s: SnapshotState,
  seq: number,
  meta: Pick<MessageMeta, "priority" | "onlyFor">,
  attributes: () => Record<string, string>,
): boolean {
  if (seq > s.record.lastSeq) return false;
  const l = s.lanes[meta.priority];
  if (!l || seq < l.floor || l.ranges.has(seq)) return false;
  if (meta.onlyFor !== 0 && meta.onlyFor !== s.subId) return false;
  return s.filter === undefined || matchesFilter(s.filter, attributes());
}

/**
 * The attributes of the message a release asks about, read at most once and only when a holder
 * needs them (a filter): one reader for every release, set up per call ({@link release} is
 * synchronous and does not nest), so a release allocates nothing for it.
 */
class ReleaseAttributes {
  private tx: Tx | undefined;
  private t: TopicState | undefined;
  private seq = 0;
  private attrs: Record<string, string> | undefined;
  readonly read = (): Record<string, string> => {
    if (this.attrs) return this.attrs;
    const raw = this.tx && this.t ? this.tx.w.view(seqKey(Table.Message, this.t.id, this.seq)) : undefined;
    this.attrs = raw ? messageAttributes(raw) : {};
    return this.attrs;
  };

  /** Points the reader at one message. */
  at(tx: Tx, t: TopicState, seq: number): () => Record<string, string> {
    this.tx = tx;
    this.t = t;
    this.seq = seq;
    this.attrs = undefined;
    return this.read;
  }

  /** Drops the references of the last call. */
  clear(): void {
    this.tx = undefined;
    this.t = undefined;
    this.attrs = undefined;
  }
}

const releaseAttributes = new ReleaseAttributes();

/** Does any subscription or snapshot of the topic still hold the stored message? */
export function heldByAny(
  t: TopicState,
  seq: number,
  meta: Pick<MessageMeta, "priority" | "onlyFor">,
  attributes: () => Record<string, string>,
): boolean {
  for (const c of t.cursors.values()) if (c.holds(seq, meta.priority, meta.onlyFor, attributes)) return true;
  for (const s of t.snapshots.values()) if (snapshotHolds(s, seq, meta, attributes)) return true;
  return false;
}

/**
 * The topic keeps a message nobody holds for replay (`retain_acked_ms`, counted from publish),
 * unless its TTL passed. Returns the time it may go, or 0 when it goes now.
 */
export function retainedUntil(t: TopicState, meta: MessageMeta, nowMs: number): number {
  const retain = t.record.retainAckedMs;
  if (retain <= 0) return 0;
  if (meta.expireAtMs > 0 && meta.expireAtMs <= nowMs) return 0;
  const until = meta.publishMs + retain;
  return until > nowMs ? until : 0;
}

/**
 * A holder let go of a stored message: it is released if nobody else holds it and retention
 * does not keep it (a retained one gets a sweep entry). Released, it is gone for every reader and
 * out of the head's counts at once, and the trim deletes its entries later (trim.ts). Returns
 * true when it was released.
 */
export function release(tx: Tx, t: TopicState, seq: number, meta: MessageMeta): boolean {
  if (isGone(t, seq)) return false;
  let held: boolean;
  try {
    held = heldByAny(t, seq, meta, releaseAttributes.at(tx, t, seq));
  } finally {
    releaseAttributes.clear(); // also when a filter throws: the shared reader keeps no transaction
  }
  if (held) return false;
  const until = retainedUntil(t, meta, tx.nowMs);
  if (until > 0) {
    tx.w.put(timeSeqKey(Table.RetainExpiry, until, t.id, seq), EMPTY);
    return false;
  }
  countOut(tx, t, seq, meta, true);
  // The entries of the time-keyed indexes go now (only messages with a TTL or a delay have them,
  // and the trim could not find them by seq); the log entry and the lane entry with the trim.
  if (meta.expireAtMs > 0) tx.w.del(timeSeqKey(Table.TtlExpiry, meta.expireAtMs, t.id, seq));
  if (meta.deliverAtMs > 0) tx.w.del(topicDueKey(t.id, meta.deliverAtMs, seq));
  addReleased(tx, t, seq);
  tx.state.trimming.add(t);
  return true;
}

/**
 * Adds a seq to the released ranges. When the log holds nothing between the range before it and
 * the seq (seqs of messages nobody took are never stored), the range grows over the gap instead
 * of a new one starting: a filtered subscription's acks make one range, not one per message. The
 * trim deletes the gap's seqs too, which is a no-op. One key read per new run of seqs, none per
 * seq that continues a range.
 */
function addReleased(tx: Tx, t: TopicState, seq: number): void {
  const before = t.released.endBefore(seq);
  if (before !== undefined && before < seq - 1) {
    const between = tx.w.keys({
      start: seqKey(Table.Message, t.id, before + 1),
      end: seqKey(Table.Message, t.id, seq),
      limit: 1,
    });
    if (between.length === 0) {
      t.released.addRange(before + 1, seq);
      t.trimScan.addRange(before + 1, seq - 1); // seqs the log never held (trim.ts)
      t.trimScan.takeChanged();
      return;
    }
  }
  t.released.add(seq);
}

const EMPTY = Buffer.alloc(0);

/** Is a seq of the log gone for every reader: purged (below logStart), or released? */
export function isGone(t: TopicState, seq: number): boolean {
  return seq < t.head.logStart || t.released.has(seq) || (t.trimInFlight.count > 0 && t.trimInFlight.has(seq));
}

/** The end of the run of gone seqs (released, or trimmed and not yet committed) holding `seq`. */
function goneEnd(t: TopicState, seq: number): number | undefined {
  return t.released.endOf(seq) ?? (t.trimInFlight.count > 0 ? t.trimInFlight.endOf(seq) : undefined);
}

/** The first seq after `seq` that starts a run of gone seqs (infinite: none). */
function nextGone(t: TopicState, seq: number): number {
  const inFlight = t.trimInFlight.count > 0 ? t.trimInFlight.startAfter(seq) : Number.POSITIVE_INFINITY;
  return Math.min(t.released.startAfter(seq), inFlight);
}

/**
 * The keys of the stored messages of a topic's log in [from, end), at most `limit`, stepping
 * over purged and released ones (gone, waiting for the trim). Between released ranges it reads
 * the gaps: one key range read per gap until `limit` keys are found. The released ranges left are
 * few once the trim has caught up (it takes 4,096 seqs a step, about every 20 ms), and stopping
 * early would tell a caller that asked for the oldest message that there is none.
 */
export function liveKeys(r: KvReader, t: TopicState, from: number, end: number, limit: number): Buffer[] {
  const out: Buffer[] = [];
  let at = Math.max(from, t.head.logStart);
  while (out.length < limit && at < end) {
    const covered = goneEnd(t, at);
    if (covered !== undefined) {
      at = covered + 1;
      continue;
    }
    const to = Math.min(end, nextGone(t, at));
    const want = limit - out.length;
    const keys = r.keys({ start: seqKey(Table.Message, t.id, at), end: seqKey(Table.Message, t.id, to), limit: want });
    out.push(...keys);
    if (keys.length === want) break;
    at = to;
  }
  return out;
}

/**
 * Takes a stored message out of the head's counts and frees its id (see {@link dropIdEntry}).
 * Its log entries stay: the caller deletes them now ({@link deleteMessage}) or the trim does
 * (`released`: then the trim may delete its id entry too).
 */
function countOut(tx: Tx, t: TopicState, seq: number, meta: MessageMeta, released = false): void {
  if (!meta.generatedId) dropIdEntry(tx, t, seq, meta.id, released);
  t.head.messages = Math.max(0, t.head.messages - 1);
  t.head.bytes = Math.max(0, t.head.bytes - meta.size);
  tx.touchHead(t);
}

/** Deletes a message's log entry and the index entries it has (no counting: see the callers). */
function deleteEntries(tx: Tx, t: TopicState, seq: number, meta: MessageMeta): void {
  const w = tx.w;
  w.del(seqKey(Table.Message, t.id, seq));
  t.tail.drop(seq);
  if (meta.priority > 0) w.del(laneKey(t.id, meta.priority, seq));
  if (meta.deliverAtMs > 0) w.del(topicDueKey(t.id, meta.deliverAtMs, seq));
  if (meta.expireAtMs > 0) w.del(timeSeqKey(Table.TtlExpiry, meta.expireAtMs, t.id, seq));
}

/**
 * Removes a stored message from the log with its index entries at once, and from the head's
 * counts (unless a purge or a release already took it out of them). Holders are the caller's
 * business. Drops (TTL, limits, redrive) use it; settling releases instead ({@link release}).
 */
export function deleteMessage(tx: Tx, t: TopicState, seq: number, meta: MessageMeta): void {
  deleteEntries(tx, t, seq, meta);
  if (isGone(t, seq)) {
    if (!meta.generatedId && seq < t.head.logStart) dropIdEntry(tx, t, seq, meta.id, false);
    return;
  }
  countOut(tx, t, seq, meta);
}

/**
 * The id entry of a message that left goes with it when its dedup scope is over: unacked scope at
 * once, window scope once the window passed (else the dedup sweep removes it later). For a
 * `released` message (its log entry waits for the trim) the trim deletes it, off the main thread
 * (id-deletes.ts), unless too many wait already.
 */
function dropIdEntry(tx: Tx, t: TopicState, seq: number, id: string, released: boolean): void {
  const found = tx.idFound;
  tx.idFound = undefined;
  let key: Buffer;
  let entry: { seq: number; expireMs: number } | undefined;
  if (found && found.topicId === t.id && found.seq === seq && found.id === id) {
    // Just read by the ack that releases it (settle.ts): the same entry, nothing wrote it since.
    key = found.key;
    entry = found;
  } else {
    key = idStringKey(Table.MessageId, t.id, id);
    entry = decodeMessageIdEntry(tx.w.view(key));
  }
  if (!entry || entry.seq !== seq) return;
  if (t.record.dedupScope !== "unacked" && entry.expireMs > tx.nowMs) return;
  if (released && tx.state.idDeletes.hasRoom()) {
    tx.idDeletes.push(key);
    return;
  }
  tx.w.del(key);
  tx.state.idDeletes.deleted(key);
}
