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
 *
 * A step is planned, then applied: {@link planTrim} reads which keys to delete and which ranges
 * that finishes, without changing anything; {@link applyTrimPlan} drops those ranges in the
 * step's transaction. The background trim plans when its write joins a transaction and hands the
 * keys to the KV engine's `deletes` (kv.ts), which LMDB runs on its write thread in that same
 * transaction, so the main thread pays neither the deletes nor their B-tree searches; a sweep
 * that trims inside its own transaction deletes the same plan's keys itself ({@link trimStep}).
 * Either way the deletes and the shrunk ranges are one transaction. Between a plan and its
 * application acks may release more seqs, even among the planned ones' neighbours, so the plan
 * drops exactly its ranges, never "everything below".
 */
import type { KvReader } from "../kv/kv.js";
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
import { LANES } from "./lane.js";
import type { EngineState, TopicState } from "./state.js";
import type { StepBudget } from "./step-budget.js";
import type { Tx } from "./tx.js";

/** Log entries one trim step deletes at most. */
export const TRIM_STEP_ENTRIES = 4096;

/** Is there anything for the trim to delete (log entries, or released messages' id entries)? */
export function trimPending(state: EngineState): boolean {
  return state.trimming.size > 0 || state.idDeletes.size > 0;
}

/** One trim step, read but not yet applied (see the module comment). */
export interface TrimPlan {
  /** Log and lane keys to delete. */
  keys: Buffer[];
  /** Per topic it looked at, the released ranges the step finishes (sorted, disjoint; maybe none). */
  topics: Array<{ t: TopicState; ranges: Array<[number, number]> }>;
  /** Topics deleted meanwhile (their log goes with the topic's records): no longer trimmed. */
  dropped: TopicState[];
  /** Log entries among {@link keys}. */
  logEntries: number;
}

/**
 * Reads one step within the budget, topic by topic, lowest released seqs first: the keys to
 * delete and the ranges that finishes. Changes nothing.
 */
export function planTrim(r: KvReader, state: EngineState, budget: StepBudget): TrimPlan {
  const plan: TrimPlan = { keys: [], topics: [], dropped: [], logEntries: 0 };
  for (const t of state.trimming) {
    if (budget.spent) break;
    if (state.topicsById.get(t.id) !== t) {
      plan.dropped.push(t);
      continue;
    }
    // Also with no range (a purge dropped them): applying it takes the topic off the trim's list.
    plan.topics.push({ t, ranges: planTopic(r, t, budget, plan) });
  }
  return plan;
}

/**
 * Drops the ranges of a plan whose keys are deleted in this transaction, and writes the heads
 * (with the ranges) in it. Returns how many log entries the step deleted; `more` says released
 * ranges are left.
 */
export function applyTrimPlan(tx: Tx, plan: TrimPlan): { deleted: number; more: boolean } {
  const { state } = tx;
  for (const t of plan.dropped) state.trimming.delete(t);
  for (const { t, ranges } of plan.topics) {
    if (state.topicsById.get(t.id) !== t) {
      state.trimming.delete(t); // deleted between the plan and now
      continue;
    }
    if (ranges.length === 0) {
      if (t.released.count === 0) state.trimming.delete(t);
      continue;
    }
    for (const [a, b] of ranges) {
      t.released.removeRange(a, b);
      if (t.trimScan.count > 0) {
        t.trimScan.removeRange(a, b);
        t.trimScan.takeChanged(); // never written: nothing to remember
      }
      t.tail.dropRange(a, b);
      // Reads see the last commit, where [a, b] is still there: gone until this one commits.
      t.trimInFlight.addRange(a, b);
    }
    tx.touchHead(t);
    tx.onCommit.push(() => {
      for (const [a, b] of ranges) t.trimInFlight.removeRange(a, b);
      t.trimInFlight.takeChanged(); // never written: nothing to remember
    });
    if (t.released.count === 0) state.trimming.delete(t);
  }
  return { deleted: plan.logEntries, more: state.trimming.size > 0 };
}

/**
 * Deletes released messages within the budget, topic by topic, inside the caller's transaction
 * (a sweep's). Returns how many log entries it deleted; `more` says released ranges are left.
 */
export function trimStep(tx: Tx, budget: StepBudget): { deleted: number; more: boolean } {
  const plan = planTrim(tx.w, tx.state, budget);
  // The released messages' id entries go with their log entries (id-deletes.ts), named first:
  // the recovered ones are read from the log.
  const ids = tx.state.idDeletes;
  const idPlan = ids.plan(tx.w, plan.keys, tx.state.topicsById);
  for (const key of plan.keys) tx.w.del(key);
  for (const key of idPlan.keys) tx.w.del(key);
  ids.dropPlan(idPlan); // deleted in this callback, in order: nothing to put back
  return applyTrimPlan(tx, plan);
}

/** Released ranges closer than this share one lane scan (the seqs between cost at most a read each). */
const LANE_SCAN_JOIN_GAP = 64;

/**
 * Plans one topic's released ranges, lowest first, within the budget; returns the ranges it
 * finishes. The log entries are found by a key scan over each range (so a range grown over seqs
 * the log never held costs one scan, not one delete per seq), and the lane entries of everything
 * the step took by one scan per lane and group of nearby ranges. The log keys and the lane scans
 * past the first group's are taken from the budget as the step goes; the lane keys are charged
 * after the step's ranges are chosen, so they shorten what later topics get in the same step
 * rather than this topic's share.
 */
function planTopic(r: KvReader, t: TopicState, budget: StepBudget, plan: TrimPlan): Array<[number, number]> {
  const taken: Array<[number, number]> = [];
  const groups: Array<Array<[number, number]>> = [];
  // (No range lies below logStart: a purge, the only move of logStart, drops them: catalog.ts.)
  for (let i = 0, range = t.released.at(0); range && !budget.spent; range = t.released.at(++i)) {
    const [a, b] = range;
    const last = planLogDeletes(r, t, a, b, budget, plan);
    joinLaneGroup(groups, a, last, budget);
    taken.push([a, last]);
    if (last < b) break;
  }
  for (const group of groups) planLaneDeletes(r, t, group, budget, plan.keys);
  return taken;
}

/**
 * Adds the log keys of the released seqs [a, b] to the plan, within the budget; returns the last
 * seq it planned (b, or less when the budget ends the step inside the range). Where the topic's
 * `trimScan` says the log may not hold a seq (a gap a range grew over, ranges found at start),
 * the keys are found by a key scan, one delete per stored message; every other seq is a message
 * released in this run of the store, whose key is made, not read (a delete of a key something
 * else deleted since is a no-op).
 */
function planLogDeletes(r: KvReader, t: TopicState, a: number, b: number, budget: StepBudget, plan: TrimPlan): number {
  let at = a;
  while (at <= b) {
    if (at > a && budget.spent) return at - 1;
    const want = Math.max(1, budget.entries);
    const scanEnd = t.trimScan.count > 0 ? t.trimScan.endOf(at) : undefined;
    if (scanEnd !== undefined) {
      const to = Math.min(scanEnd, b);
      const keys = r.keys({
        start: seqKey(Table.Message, t.id, at),
        end: seqKey(Table.Message, t.id, to + 1),
        limit: want,
      });
      for (const key of keys) {
        plan.keys.push(key);
        budget.take();
      }
      if (keys.length === 0) budget.take(); // an empty scan still costs a read
      plan.logEntries += keys.length;
      // A full page may stop inside the range: the step ends at its last key, the rest waits.
      if (keys.length === want) return keySeq(keys[keys.length - 1] as Buffer);
      at = to + 1;
      continue;
    }
    const next = t.trimScan.count > 0 ? t.trimScan.startAfter(at) : Number.POSITIVE_INFINITY;
    const to = Math.min(b, next - 1, at + want - 1);
    for (let seq = at; seq <= to; seq++) {
      plan.keys.push(seqKey(Table.Message, t.id, seq));
      budget.take();
    }
    plan.logEntries += to - at + 1;
    at = to + 1;
  }
  return b;
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
 * Adds the lane entries (priorities 1..9) of the seqs in `taken` (sorted, disjoint ranges) to
 * `out`: one key scan per lane over their span, skipping the entries of live messages between them.
 */
function planLaneDeletes(
  r: KvReader,
  t: TopicState,
  taken: Array<[number, number]>,
  budget: StepBudget,
  out: Buffer[],
): void {
  const lo = (taken[0] as [number, number])[0];
  const hi = (taken[taken.length - 1] as [number, number])[1];
  for (let p = 1; p < LANES; p++) {
    let i = 0;
    for (const key of r.keys({ start: laneKey(t.id, p, lo), end: laneKey(t.id, p, hi + 1) })) {
      budget.take();
      const seq = laneKeySeq(key);
      while (i < taken.length && (taken[i] as [number, number])[1] < seq) i++;
      if (i < taken.length && (taken[i] as [number, number])[0] <= seq) out.push(key);
    }
  }
}
