/**
 * The trim: released messages (release.ts) leave the log in bulk. An ack only marks what nobody
 * holds any more as released (a range per run of seqs, written with the topic's head); the trim
 * deletes their log entries afterwards, lowest seqs first, in bounded steps of one transaction
 * each, and drops the ranges it finished. Every seq of a released range is a stored message (a
 * seq is released once, when its last holder lets go) or one the log never held (a range may grow
 * over such gaps), so a step deletes the seqs of a range without reading them: no key scan, no
 * message header. Lane entries (priority above 0) are found
 * by one key range per lane and step; the TTL and delay entries went at the release.
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
import { laneKey, seqKey, Table } from "./keys.js";
import { LANES } from "./lane.js";
import type { EngineState, TopicState } from "./state.js";
import type { StepBudget } from "./step-budget.js";
import type { Tx } from "./tx.js";

/** Log entries one trim step deletes at most. */
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
  // (No range lies below logStart: a purge, the only move of logStart, drops them: catalog.ts.)
  for (let first = t.released.first(); first && !budget.spent; first = t.released.first()) {
    const [a, b] = first;
    const last = Math.min(b, a + Math.max(1, budget.entries) - 1);
    for (let seq = a; seq <= last; seq++) {
      tx.w.del(seqKey(Table.Message, t.id, seq));
      budget.take();
    }
    deleteLaneEntries(tx, t, a, last);
    deleted += last - a + 1;
    t.released.removeBelow(last + 1);
    tx.touchHead(t);
    // Reads see the last commit, where [a, last] is still there: gone until this one commits.
    t.trimInFlight.addRange(a, last);
    tx.onCommit.push(() => {
      t.trimInFlight.removeBelow(last + 1);
      t.trimInFlight.takeChanged(); // never written: nothing to remember
    });
  }
  return deleted;
}

/** Deletes the lane entries (priorities 1..9) of the seqs [a, b]: at most one per seq. */
function deleteLaneEntries(tx: Tx, t: TopicState, a: number, b: number): void {
  for (let p = 1; p < LANES; p++) {
    for (const key of tx.w.keys({ start: laneKey(t.id, p, a), end: laneKey(t.id, p, b + 1) })) tx.w.del(key);
  }
}
