/**
 * Background work in bounded steps. Operations that move a cursor over an unbounded part of the
 * log (PurgeTopic, DeleteTopic, DeleteSubscription, DeleteSnapshot, a subscription created at an
 * earlier position) do a first bounded step in their own transaction and leave the rest as a job:
 * a record in the store (so a restart resumes it) that the retention sweep advances a step at a
 * time. No transaction walks more than a step of the log.
 */
import type { KvReader } from "../kv/kv.js";
import { idKey, keyId, keySeq, prefixEnd, seqKey, Table, tableKey } from "./keys.js";
import { messageAttributes, messageMeta } from "./message-codec.js";
import { deleteMessage, release } from "./release.js";
import type { EngineState, TopicState } from "./state.js";
import { StepBudget } from "./step-budget.js";
import type { Tx } from "./tx.js";

/**
 * Log entries (or keys) one step looks at when an operation does the first step inline (and at
 * most STEP_MAX_BYTES of message values, step-budget.ts).
 */
export const INLINE_STEP = 10_000;

/** A job's work. Seq ranges are inclusive. */
export type JobSpec =
  /** Messages in the range that nobody holds any more leave the log (or stay retained). */
  | { kind: "release"; topicId: number; fromSeq: number; toSeq: number }
  /** Messages in the range are gone already (purged): delete them, without counting. */
  | { kind: "purge"; topicId: number; fromSeq: number; toSeq: number }
  /** Delete every key starting with one of these prefixes (hex): a deleted topic's or cursor's records. */
  | { kind: "drop"; prefixes: string[] }
  /** Count the messages the subscription holds in the range into its unacked counter. */
  | { kind: "count"; subId: number; fromSeq: number; toSeq: number };

/** A stored job. */
export interface Job {
  id: number;
  spec: JobSpec;
}

/** Jobs of a store, in id order. */
export class Jobs {
  readonly list: Job[] = [];
  private lastId = 0;

  load(r: KvReader): void {
    const start = tableKey(Table.Job);
    for (const { key, value } of r.range({ start, end: prefixEnd(start) })) {
      const id = keyId(key);
      this.list.push({ id, spec: JSON.parse(value.toString()) as JobSpec });
      this.lastId = Math.max(this.lastId, id);
    }
  }

  get pending(): boolean {
    return this.list.length > 0;
  }

  /**
   * Runs a first step of a job now; what is left is stored and continued by {@link run}.
   * Returns true when it finished in this step.
   */
  start(tx: Tx, spec: JobSpec, entries = INLINE_STEP): boolean {
    const left = step(tx, spec, new StepBudget(entries));
    if (!left) return true;
    const job = { id: ++this.lastId, spec: left };
    this.list.push(job);
    tx.w.put(idKey(Table.Job, job.id), Buffer.from(JSON.stringify(job.spec)));
    return false;
  }

  /** Runs stored jobs within the budget (entries looked at, bytes of messages read). */
  run(tx: Tx, budget: StepBudget): void {
    while (this.list.length > 0 && !budget.spent) {
      const job = this.list[0] as Job;
      const before = budget.taken;
      const left = step(tx, job.spec, budget);
      if (left) {
        job.spec = left;
        tx.w.put(idKey(Table.Job, job.id), Buffer.from(JSON.stringify(left)));
        if (budget.taken === before) break; // no progress in this step: the next sweep goes on
      } else {
        this.list.shift();
        tx.w.del(idKey(Table.Job, job.id));
      }
    }
  }
}

/** Runs one step within `budget`; returns what is left (undefined: done). */
function step(tx: Tx, spec: JobSpec, budget: StepBudget): JobSpec | undefined {
  switch (spec.kind) {
    case "release":
    case "purge":
    case "count":
      return logStep(tx, spec, budget);
    case "drop":
      return dropStep(tx, spec, budget);
  }
}

/**
 * Steps through the log entries of a seq range: their keys, then of each message only its
 * header (a view, not a copy), within the entry and byte budget.
 */
function logStep(tx: Tx, spec: Extract<JobSpec, { fromSeq: number }>, budget: StepBudget): JobSpec | undefined {
  const t = topicOfJob(tx.state, spec);
  if (!t || spec.fromSeq > spec.toSeq) return finish(tx, spec);
  const limit = Math.max(1, budget.entries);
  const keys = tx.w.keys({
    start: seqKey(Table.Message, t.id, spec.fromSeq),
    end: seqKey(Table.Message, t.id, spec.toSeq + 1),
    limit,
  });
  const c = spec.kind === "count" ? tx.state.cursorsById.get(spec.subId) : undefined;
  let looked = 0;
  let last = spec.fromSeq - 1;
  for (const key of keys) {
    if (looked > 0 && budget.spent) break;
    const seq = keySeq(key);
    const raw = tx.w.view(key);
    looked++;
    last = seq;
    budget.take(raw?.length ?? 0);
    if (!raw) continue;
    const meta = messageMeta(raw);
    if (spec.kind === "purge") deleteMessage(tx, t, seq, meta);
    else if (spec.kind === "release") release(tx, t, seq, meta);
    else if (c?.holds(seq, meta.priority, meta.onlyFor, () => messageAttributes(raw))) {
      c.unacked++;
      tx.touchCursor(c);
    }
  }
  const done = looked === keys.length && keys.length < limit;
  const left = { ...spec, fromSeq: done ? spec.toSeq + 1 : last + 1 };
  if (c) {
    c.countFrom = left.fromSeq;
    if (done) {
      c.countFrom = 0;
      c.countTo = -1;
    }
    tx.touchCursor(c);
  }
  return done ? finish(tx, spec) : left;
}

function finish(tx: Tx, spec: JobSpec): undefined {
  if (spec.kind === "count") {
    const c = tx.state.cursorsById.get(spec.subId);
    if (c && c.countTo >= 0) {
      c.countFrom = 0;
      c.countTo = -1;
      tx.touchCursor(c);
    }
  }
  return undefined;
}

function topicOfJob(state: EngineState, spec: JobSpec): TopicState | undefined {
  if (spec.kind === "count") {
    const c = state.cursorsById.get(spec.subId);
    return c ? state.topicsById.get(c.record.topicId) : undefined;
  }
  if (spec.kind === "drop") return undefined;
  return state.topicsById.get(spec.topicId);
}

/** Deletes keys of the first prefix left, within the entry budget: keys only, no value is read. */
function dropStep(tx: Tx, spec: Extract<JobSpec, { kind: "drop" }>, budget: StepBudget) {
  const prefixes = [...spec.prefixes];
  while (prefixes.length > 0 && budget.entries > 0) {
    const prefix = Buffer.from(prefixes[0] as string, "hex");
    const keys = tx.w.keys({ start: prefix, end: prefixEnd(prefix), limit: budget.entries });
    for (const key of keys) {
      tx.w.del(key);
      budget.take();
    }
    if (budget.entries > 0) prefixes.shift();
  }
  return prefixes.length === 0 ? undefined : { kind: "drop" as const, prefixes };
}

/** The per-topic key prefixes of a deleted topic (its log and indexes). */
export function topicPrefixes(topicId: number): string[] {
  return [Table.Message, Table.Lane, Table.MessageId, Table.TopicDue, Table.Released].map((t) =>
    idKey(t, topicId).toString("hex"),
  );
}
