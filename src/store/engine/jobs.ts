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
import type { Tx } from "./tx.js";

/** Log entries (or keys) one step looks at when an operation does the first step inline. */
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
   * Runs a first step of a job now; what is left is stored and continued by {@link runJobs}.
   * Returns true when it finished in this step.
   */
  start(tx: Tx, spec: JobSpec, budget = INLINE_STEP): boolean {
    const left = step(tx, spec, budget);
    if (!left) return true;
    const job = { id: ++this.lastId, spec: left };
    this.list.push(job);
    tx.w.put(idKey(Table.Job, job.id), Buffer.from(JSON.stringify(job.spec)));
    return false;
  }

  /** Runs stored jobs, at most `budget` entries looked at in all. Returns the entries looked at. */
  run(tx: Tx, budget: number): number {
    let used = 0;
    while (this.list.length > 0 && used < budget) {
      const job = this.list[0] as Job;
      const before = used;
      const left = step(tx, job.spec, budget - used, (n) => {
        used += n;
      });
      if (left) {
        job.spec = left;
        tx.w.put(idKey(Table.Job, job.id), Buffer.from(JSON.stringify(left)));
        if (used === before) break; // no progress in this step: the next sweep goes on
      } else {
        this.list.shift();
        tx.w.del(idKey(Table.Job, job.id));
      }
    }
    return used;
  }
}

/** Runs one step of at most `budget` entries; returns what is left (undefined: done). */
function step(tx: Tx, spec: JobSpec, budget: number, used: (n: number) => void = () => {}): JobSpec | undefined {
  switch (spec.kind) {
    case "release":
    case "purge":
    case "count":
      return logStep(tx, spec, budget, used);
    case "drop":
      return dropStep(tx, spec, budget, used);
  }
}

/** Steps through the log entries of a seq range. */
function logStep(
  tx: Tx,
  spec: Extract<JobSpec, { fromSeq: number }>,
  budget: number,
  used: (n: number) => void,
): JobSpec | undefined {
  const t = topicOfJob(tx.state, spec);
  if (!t || spec.fromSeq > spec.toSeq) return finish(tx, spec);
  const batch = tx.w.range({
    start: seqKey(Table.Message, t.id, spec.fromSeq),
    end: seqKey(Table.Message, t.id, spec.toSeq + 1),
    limit: Math.max(1, budget),
  });
  used(batch.length);
  for (const { key, value } of batch) {
    const seq = keySeq(key);
    const meta = messageMeta(value);
    if (spec.kind === "purge") deleteMessage(tx, t, seq, meta);
    else if (spec.kind === "release") release(tx, t, seq, meta);
    else {
      const c = tx.state.cursorsById.get(spec.subId);
      if (c?.holds(seq, meta.priority, meta.onlyFor, () => messageAttributes(value))) {
        c.unacked++;
        tx.touchCursor(c);
      }
    }
  }
  const done = batch.length < Math.max(1, budget);
  const last = batch.length > 0 ? keySeq((batch[batch.length - 1] as { key: Buffer }).key) : spec.toSeq;
  const left = { ...spec, fromSeq: done ? spec.toSeq + 1 : last + 1 };
  if (spec.kind === "count") {
    const c = tx.state.cursorsById.get(spec.subId);
    if (c) {
      c.countFrom = left.fromSeq;
      if (done) {
        c.countFrom = 0;
        c.countTo = -1;
      }
      tx.touchCursor(c);
    }
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

/** Deletes keys of the first prefix left, at most `budget`. */
function dropStep(tx: Tx, spec: Extract<JobSpec, { kind: "drop" }>, budget: number, used: (n: number) => void) {
  const prefixes = [...spec.prefixes];
  let left = budget;
  while (prefixes.length > 0 && left > 0) {
    const prefix = Buffer.from(prefixes[0] as string, "hex");
    const batch = tx.w.range({ start: prefix, end: prefixEnd(prefix), limit: left });
    for (const { key } of batch) tx.w.del(key);
    used(batch.length);
    left -= batch.length;
    if (left > 0) prefixes.shift();
  }
  return prefixes.length === 0 ? undefined : { kind: "drop" as const, prefixes };
}

/** The per-topic key prefixes of a deleted topic (its log and indexes). */
export function topicPrefixes(topicId: number): string[] {
  return [Table.Message, Table.Lane, Table.MessageId, Table.TopicDue].map((t) => idKey(t, topicId).toString("hex"));
}
