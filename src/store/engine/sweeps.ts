/**
 * The time-driven sweeps, each bounded per call: messages past their TTL (dropped from the log
 * and every subscription, leased or not), acked messages kept for replay whose `retain_acked_ms`
 * passed, and window-scope dedup entries whose window passed (issue 16: swept here, in bounded
 * steps, rather than a few per publish).
 */
import type { KvReader } from "../kv/kv.js";
import {
  dedupExpiryKey,
  idStringKey,
  parseDedupExpiryKey,
  parseTimeSeqKey,
  prefixEnd,
  seqKey,
  Table,
  tableKey,
  timeSeqKey,
} from "./keys.js";
import { messageAttributes, messageExpireAt, messageMeta } from "./message-codec.js";
import { deleteMessage, heldByAny, isGone } from "./release.js";
import type { TopicState } from "./state.js";
import type { StepBudget } from "./step-budget.js";
import { decodeMessageIdEntry } from "./table-values.js";
import { dropFromLog } from "./topic-limits.js";
import type { Tx } from "./tx.js";

const EMPTY = Buffer.alloc(0);

/** Entries of a time-keyed index due at `nowMs` (read-only check). */
function due(r: KvReader, table: Table, end: Buffer): boolean {
  return r.keys({ start: tableKey(table), end, limit: 1 }).length > 0;
}

/** Any entry at all in a table. */
function any(r: KvReader, table: Table): boolean {
  const start = tableKey(table);
  return r.keys({ start, end: prefixEnd(start), limit: 1 }).length > 0;
}

/** Read-only: has a stored message's TTL passed at `nowMs`? */
export function ttlDue(r: KvReader, nowMs: number): boolean {
  return due(r, Table.TtlExpiry, timeSeqKey(Table.TtlExpiry, nowMs + 1, 0, 0));
}

/** Read-only: has a retained message's retention passed at `nowMs`? */
export function retainedDue(r: KvReader, nowMs: number): boolean {
  return due(r, Table.RetainExpiry, timeSeqKey(Table.RetainExpiry, nowMs + 1, 0, 0));
}

/** Read-only: has a dedup window ended at `nowMs`? */
export function dedupDue(r: KvReader, nowMs: number): boolean {
  return due(r, Table.DedupExpiry, dedupExpiryKey(nowMs + 1, 0, ""));
}

/** Is there a stored message with a TTL? */
export function hasTtl(r: KvReader): boolean {
  return any(r, Table.TtlExpiry);
}

/** Is there an acked message kept for replay? */
export function hasRetained(r: KvReader): boolean {
  return any(r, Table.RetainExpiry);
}

/** Is there a window-scope dedup entry (now or later)? */
export function hasDedupEntries(r: KvReader): boolean {
  return any(r, Table.DedupExpiry);
}

/**
 * Walks the entries of a time index (`table`: TTL or retention expiry) that are due, within the
 * budget (index entries, and the bytes of the messages whose header it reads): deletes each entry
 * and calls `each` with its message, if still in the log; `each` says whether it removed it.
 * `more`: it stopped at the budget.
 */
function sweepDue(
  tx: Tx,
  budget: StepBudget,
  table: Table.TtlExpiry | Table.RetainExpiry,
  each: (t: TopicState, seq: number, raw: Buffer) => boolean,
): { removed: number; more: boolean } {
  if (budget.spent) return { removed: 0, more: true };
  const end = timeSeqKey(table, tx.nowMs + 1, 0, 0);
  const keys = tx.w.keys({ start: tableKey(table), end, limit: budget.entries });
  let removed = 0;
  for (const key of keys) {
    if (budget.spent) return { removed, more: true };
    tx.w.del(key);
    const { topicId, seq } = parseTimeSeqKey(key);
    const t = tx.state.topicsById.get(topicId);
    // A released message is gone already (counted out); the trim deletes its entries.
    const raw = t && !isGone(t, seq) ? tx.w.view(seqKey(Table.Message, topicId, seq)) : undefined;
    budget.take(raw?.length ?? 0);
    if (t && raw && each(t, seq, raw)) removed++;
  }
  return { removed, more: budget.spent };
}

/** Drops messages whose TTL passed, within the budget (see {@link sweepDue}). */
export function sweepTtl(tx: Tx, budget: StepBudget): { removed: number; more: boolean } {
  return sweepDue(tx, budget, Table.TtlExpiry, (t, seq, raw) => {
    const expireAt = messageExpireAt(raw);
    if (expireAt === 0 || expireAt > tx.nowMs) return false;
    dropFromLog(tx, t, seq, raw);
    return true;
  });
}

/** Removes retained messages whose retention passed, within the budget (see {@link sweepDue}). */
export function sweepRetained(tx: Tx, budget: StepBudget): { removed: number; more: boolean } {
  return sweepDue(tx, budget, Table.RetainExpiry, (t, seq, raw) => {
    const meta = messageMeta(raw);
    let attrs: Record<string, string> | undefined;
    const attributes = () => {
      attrs ??= messageAttributes(raw); // read before any other read reuses the view
      return attrs;
    };
    if (heldByAny(t, seq, meta, attributes)) return false; // held again (Seek, a new subscription)
    const until = meta.publishMs + t.record.retainAckedMs;
    if (t.record.retainAckedMs > 0 && until > tx.nowMs) {
      tx.w.put(timeSeqKey(Table.RetainExpiry, until, t.id, seq), EMPTY); // retention was raised since
      return false;
    }
    deleteMessage(tx, t, seq, meta);
    return true;
  });
}

/** Drops dedup id entries whose window has passed and whose message is gone, within the budget. */
export function sweepDedup(tx: Tx, budget: StepBudget): void {
  if (budget.spent) return;
  const end = dedupExpiryKey(tx.nowMs + 1, 0, "");
  const keys = tx.w.keys({ start: tableKey(Table.DedupExpiry), end, limit: budget.entries });
  for (const key of keys) {
    budget.take();
    tx.w.del(key);
    const { topicId, id } = parseDedupExpiryKey(key);
    const idKeyBuf = idStringKey(Table.MessageId, topicId, id);
    const entry = decodeMessageIdEntry(tx.w.get(idKeyBuf));
    if (!entry || entry.expireMs > tx.nowMs) continue;
    const t = tx.state.topicsById.get(topicId);
    const stored = t && !isGone(t, entry.seq) && tx.w.view(seqKey(Table.Message, topicId, entry.seq)) !== undefined;
    if (!stored) {
      tx.w.del(idKeyBuf);
      tx.state.idDeletes.deleted(idKeyBuf);
    }
  }
}
