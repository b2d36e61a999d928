/**
 * When a message leaves the log: once no subscription holds it (each has acked it, filters it
 * out, or has moved past it), no snapshot captured it and the topic's retention does not keep it.
 * Operations that settle messages call {@link release} for each; cursor moves over many messages
 * (purge, DeleteSubscription, a subscription starting earlier) hand the range to a background job
 * instead (jobs.ts), so no operation walks an unbounded part of the log in one transaction.
 */

import { matchesFilter } from "./fan-out.js";
import { decodeMessageIdEntry, idStringKey, laneKey, seqKey, Table, timeSeqKey, topicDueKey } from "./keys.js";
import { type MessageMeta, messageAttributes } from "./message-codec.js";
import type { SnapshotState, TopicState } from "./state.js";
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

/** Lazily reads a stored message's attributes (only a filter needs them). */
export function lazyAttributes(tx: Tx, t: TopicState, seq: number): () => Record<string, string> {
  let attrs: Record<string, string> | undefined;
  return () => {
    if (attrs) return attrs;
    // A view (no copy of the message): parsed at once, before any other read reuses it.
    const raw = tx.w.view(seqKey(Table.Message, t.id, seq));
    attrs = raw ? messageAttributes(raw) : {};
    return attrs;
  };
}

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
 * A holder let go of a stored message: it leaves the log if nobody else holds it and retention
 * does not keep it (a retained one gets a sweep entry). Returns true when it was deleted.
 */
export function release(tx: Tx, t: TopicState, seq: number, meta: MessageMeta): boolean {
  if (seq < t.head.logStart) return false;
  if (heldByAny(t, seq, meta, lazyAttributes(tx, t, seq))) return false;
  const until = retainedUntil(t, meta, tx.nowMs);
  if (until > 0) {
    tx.w.put(timeSeqKey(Table.RetainExpiry, until, t.id, seq), EMPTY);
    return false;
  }
  deleteMessage(tx, t, seq, meta);
  return true;
}

const EMPTY = Buffer.alloc(0);

/**
 * Removes a stored message from the log with its index entries, and from the head's counts
 * (unless a purge already took it out of them). Holders are the caller's business.
 */
export function deleteMessage(tx: Tx, t: TopicState, seq: number, meta: MessageMeta): void {
  const w = tx.w;
  w.del(seqKey(Table.Message, t.id, seq));
  if (meta.priority > 0) w.del(laneKey(t.id, meta.priority, seq));
  if (meta.deliverAtMs > 0) w.del(topicDueKey(t.id, meta.deliverAtMs, seq));
  if (meta.expireAtMs > 0) w.del(timeSeqKey(Table.TtlExpiry, meta.expireAtMs, t.id, seq));
  if (!meta.generatedId) dropIdEntry(tx, t, seq, meta.id);
  if (seq >= t.head.logStart) {
    t.head.messages = Math.max(0, t.head.messages - 1);
    t.head.bytes = Math.max(0, t.head.bytes - meta.size);
    tx.touchHead(t);
  }
}

/**
 * The id entry of a deleted message goes with it when its dedup scope is over: unacked scope at
 * once, window scope once the window passed (else the dedup sweep removes it later).
 */
function dropIdEntry(tx: Tx, t: TopicState, seq: number, id: string): void {
  const key = idStringKey(Table.MessageId, t.id, id);
  const entry = decodeMessageIdEntry(tx.w.get(key));
  if (!entry || entry.seq !== seq) return;
  if (t.record.dedupScope === "unacked" || entry.expireMs <= tx.nowMs) tx.w.del(key);
}
