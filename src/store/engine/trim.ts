/**
 * The trim: released messages (release.ts) leave the log in bulk. An ack only marks what nobody
 * holds any more as released (a range per run of seqs, written with the topic's head); the trim
 * deletes their log entries afterwards, lowest seqs first, in bounded steps of one transaction
 * each, and drops the ranges it finished. Every seq of a released range is a stored message (a
 * seq is released once, when its last holder lets go) or one the log never held (a range may grow
 * over such gaps), so a step deletes the keys a scan of the range finds, without reading a value
 * or a message header. Lane entries (priority above 0) are found by one key scan per lane and
 * step; the TTL and delay entries went at the release.
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
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
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

/** Released ranges closer than this share one lane scan (the seqs between cost at most a read each). */
const LANE_SCAN_JOIN_GAP = 64;

/**
 * Trims one topic's released ranges, lowest first, within the budget. The log entries are found
 * by a key scan over each range (so a range grown over seqs the log never held costs one scan,
 * not one delete per seq), and the lane entries of everything the step took by one scan per lane
 * and group of nearby ranges. The log keys and the lane scans past the first group's are taken
 * from the budget as the step goes; the lane keys are charged after the step's ranges are chosen,
 * so they shorten what later topics get in the same step rather than this topic's share.
 */
function trimTopic(tx: Tx, t: TopicState, budget: StepBudget): number {
  let deleted = 0;
  const groups: Array<Array<[number, number]>> = [];
  // (No range lies below logStart: a purge, the only move of logStart, drops them: catalog.ts.)
  for (let first = t.released.first(); first && !budget.spent; first = t.released.first()) {
    const [a, b] = first;
    const want = Math.max(1, budget.entries);
    const keys = tx.w.keys({
      start: seqKey(Table.Message, t.id, a),
      end: seqKey(Table.Message, t.id, b + 1),
      limit: want,
    });
    // A full page may stop inside the range: the step ends at its last key, the rest waits.
    const last = keys.length === want ? keySeq(keys[keys.length - 1] as Buffer) : b;
    for (const key of keys) {
      tx.w.del(key);
      budget.take();
    }
    if (keys.length === 0) budget.take(); // an empty scan still costs a read
    deleted += keys.length;
    joinLaneGroup(groups, a, last, budget);
    t.released.removeBelow(last + 1);
    tx.touchHead(t);
    // Reads see the last commit, where [a, last] is still there: gone until this one commits.
    t.trimInFlight.addRange(a, last);
    tx.onCommit.push(() => {
      t.trimInFlight.removeBelow(last + 1);
      t.trimInFlight.takeChanged(); // never written: nothing to remember
    });
  }
  for (const group of groups) deleteLaneEntries(tx, t, group, budget);
  return deleted;
}

/**
 * Adds a taken range to the last lane-scan group, or starts a group. The first group's scans are
 * the step's fixed cost; each further group's scans count against the budget.
 */
function joinLaneGroup(groups: Array<Array<[number, number]>>, a: number, b: number, budget: StepBudget): void {
  const group = groups[groups.length - 1];
  const end = group?.[group.length - 1]?.[1];
  if (group && end !== undefined && a - end - 1 <= LANE_SCAN_JOIN_GAP) {
    group.push([a, b]);
    return;
  }
  if (groups.length > 0) for (let p = 1; p < LANES; p++) budget.take();
  groups.push([[a, b]]);
}

/**
 * Deletes the lane entries (priorities 1..9) of the seqs in `taken` (sorted, disjoint ranges):
 * one key scan per lane over their span, skipping the entries of live messages between them.
 */
function deleteLaneEntries(tx: Tx, t: TopicState, taken: Array<[number, number]>, budget: StepBudget): void {
  const lo = (taken[0] as [number, number])[0];
  const hi = (taken[taken.length - 1] as [number, number])[1];
  for (let p = 1; p < LANES; p++) {
    let i = 0;
    for (const key of tx.w.keys({ start: laneKey(t.id, p, lo), end: laneKey(t.id, p, hi + 1) })) {
      budget.take();
      const seq = laneKeySeq(key);
      while (i < taken.length && (taken[i] as [number, number])[1] < seq) i++;
      if (i < taken.length && (taken[i] as [number, number])[0] <= seq) tx.w.del(key);
    }
  }
}
