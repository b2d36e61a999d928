/**
 * The trim: released messages (release.ts) leave the log in bulk. An ack only marks what nobody
 * holds any more as released (a range per run of seqs, written with the topic's head); the trim
 * deletes their log and index entries afterwards, lowest seqs first, in bounded steps of one
 * transaction each (entries and bytes, step-budget.ts), and drops the ranges it finished.
 *
 * The trim needs no low-water mark over the cursors: a released seq is one nobody holds, whatever
 * the floors, so a message acked out of order above a floor stuck behind a long lease leaves
 * like any other, and the stuck message keeps only itself. Until the trim reaches a released
 * message, the head does not count it (stats and max_messages / max_bytes see it gone) and no
 * reader returns it: it costs disk pages only, for about one trim delay.
 *
 * A step is crash-safe as it is: its deletes and the shrunk ranges commit together; a crash
 * before the commit leaves the ranges as they were, and the next step deletes the same keys again.
 */
import { keySeq, seqKey, Table } from "./keys.js";
import { messageMeta } from "./message-codec.js";
import { deleteEntries } from "./release.js";
import type { EngineState, TopicState } from "./state.js";
import type { StepBudget } from "./step-budget.js";
import type { Tx } from "./tx.js";

/** Log entries one trim step deletes at most (and at most STEP_MAX_BYTES of them, step-budget.ts). */
export const TRIM_STEP_ENTRIES = 4096;

/** Is there anything for the trim to delete? */
export function trimPending(state: EngineState): boolean {
  return state.trimming.size > 0;
}

/**
 * Deletes released messages within the budget, topic by topic. Returns how many log entries it
 * deleted; `more` says released ranges are left.
 */
export function trimStep(tx: Tx, budget: StepBudget): { deleted: number; more: boolean } {
  let deleted = 0;
  for (const t of [...tx.state.trimming]) {
    if (budget.spent) break;
    if (tx.state.topicsById.get(t.id) !== t) {
      tx.state.trimming.delete(t); // deleted meanwhile: its log goes with the topic's records
      continue;
    }
    deleted += trimTopic(tx, t, budget);
    if (t.released.count === 0) tx.state.trimming.delete(t);
  }
  return { deleted, more: tx.state.trimming.size > 0 };
}

/** Trims one topic's released ranges, lowest first, within the budget. */
function trimTopic(tx: Tx, t: TopicState, budget: StepBudget): number {
  let deleted = 0;
  // Below logStart a purge job deletes the entries: ranges there are dropped, not walked.
  if ((t.released.first()?.[0] ?? Number.POSITIVE_INFINITY) < t.head.logStart) {
    t.released.removeBelow(t.head.logStart);
    tx.touchHead(t);
  }
  for (let first = t.released.first(); first && !budget.spent; first = t.released.first()) {
    const [a, b] = first;
    const limit = Math.max(1, budget.entries);
    const keys = tx.w.keys({ start: seqKey(Table.Message, t.id, a), end: seqKey(Table.Message, t.id, b + 1), limit });
    let done = b;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Buffer;
      const seq = keySeq(key);
      if (i > 0 && budget.spent) {
        done = seq - 1;
        break;
      }
      const raw = tx.w.view(key); // the header only: no copy of the message
      budget.take(raw?.length ?? 0);
      if (raw) deleteEntries(tx, t, seq, messageMeta(raw));
      deleted++;
    }
    if (keys.length === limit && done === b) done = keySeq(keys[keys.length - 1] as Buffer);
    t.released.removeBelow(done + 1);
    tx.touchHead(t);
  }
  return deleted;
}
