/**
 * Publishes to one topic in one event-loop turn, appended together: many clients that send one
 * message per call (a gRPC client without batching, h2load) arrive as many Publish calls in one
 * turn, and each append costs the store a transaction of its own (its head and cursor writes, a
 * nested LMDB transaction, a commit-queue entry) whatever it holds. The first publish to a topic
 * in a turn goes to the store at once, as it always did (a lone publish waits for nothing); the
 * batcher holds the topic's later ones until the turn's I/O is done (`setImmediate`) and appends
 * them as one batch, so that cost is paid about once per turn. Each call is still answered only
 * when its append is committed (and synced), with its own results.
 *
 * What a caller sees is what the calls one by one give:
 * - each publish is validated alone, when it is made (a bad one fails alone, with its own error);
 * - the records of each call are made with the clock's time at its call: only calls that saw the
 *   same `now` share a batch (a later one closes the batch and starts the next);
 * - a batch is the calls' messages in call order, no larger than one Publish may be
 *   (`maxBatchMessages`, `maxBatchBytes`), so seqs, generated ids and deduplication (a client id
 *   twice in one batch is a duplicate the second time, as across calls) come out as they would;
 * - if the merged append fails, it wrote nothing (the store's contract), and each call is then
 *   appended alone, so each gets exactly its own outcome (one call's full topic or bad record
 *   does not fail the others);
 * - a batch of a single call is appended as that call alone.
 *
 * @module
 */
import type { NewMessage, PublishOutcome } from "../model/index.js";
import type { CoreContext } from "./context.js";
import { validateName, validatePublish } from "./validate.js";

/** Appends validated `messages` to `topic` as published at `nowMs` (admin-ops.ts `appendValidated`). */
export type PublishAt = (topic: string, messages: readonly NewMessage[], nowMs: number) => Promise<PublishOutcome[]>;

/** One waiting call. */
interface Waiting {
  readonly messages: readonly NewMessage[];
  resolve(results: PublishOutcome[]): void;
  reject(error: unknown): void;
}

/** The calls of one topic waiting for the end of the turn. */
interface Batch {
  readonly topic: string;
  readonly nowMs: number;
  readonly calls: Waiting[];
  messages: number;
  bytes: number;
}

/** Publishes through a {@link createPublishBatcher}: `publish`, and `flush` (e.g. on close). */
export interface PublishBatcher {
  publish(topic: string, messages: readonly NewMessage[]): Promise<PublishOutcome[]>;
  /** Appends every waiting batch now. */
  flush(): void;
}

/** Creates a {@link PublishBatcher} over `publishAt`, which appends what this batcher validated. */
export function createPublishBatcher(ctx: CoreContext, publishAt: PublishAt): PublishBatcher {
  const open = new Map<string, Batch>();
  /** Topics whose first publish of this turn went to the store at once. */
  const started = new Set<string>();
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  const flush = () => {
    scheduled = false;
    started.clear();
    const batches = [...open.values()];
    open.clear();
    for (const batch of batches) append(batch);
  };

  const append = (batch: Batch) => {
    const { topic, nowMs, calls } = batch;
    if (calls.length === 1) {
      const call = calls[0] as Waiting;
      publishAt(topic, call.messages, nowMs).then(call.resolve, call.reject);
      return;
    }
    const merged: NewMessage[] = [];
    for (const call of calls) for (const m of call.messages) merged.push(m);
    publishAt(topic, merged, nowMs).then(
      (results) => {
        let at = 0;
        for (const call of calls) {
          const end = at + call.messages.length;
          call.resolve(results.slice(at, end));
          at = end;
        }
      },
      // Nothing was written: each call alone gets its own outcome (in call order, as before).
      () => {
        for (const call of calls) publishAt(topic, call.messages, nowMs).then(call.resolve, call.reject);
      },
    );
  };

  return {
    publish(topic, messages) {
      let bytes: number;
      try {
        validateName("topic", topic);
        bytes = validatePublish(messages, ctx.limits);
      } catch (e) {
        return Promise.reject(e);
      }
      const nowMs = ctx.clock.now();
      let batch = open.get(topic);
      if (batch === undefined && !started.has(topic)) {
        started.add(topic);
        schedule();
        return publishAt(topic, messages, nowMs);
      }
      const { maxBatchMessages, maxBatchBytes } = ctx.limits;
      if (
        batch !== undefined &&
        (batch.nowMs !== nowMs ||
          batch.messages + messages.length > maxBatchMessages ||
          batch.bytes + bytes > maxBatchBytes)
      ) {
        // Appended now, so it goes to the store ahead of the batch this call starts.
        open.delete(topic);
        append(batch);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = { topic, nowMs, calls: [], messages: 0, bytes: 0 };
        open.set(topic, batch);
        schedule();
      }
      batch.messages += messages.length;
      batch.bytes += bytes;
      const calls = batch.calls;
      return new Promise<PublishOutcome[]>((resolve, reject) => {
        calls.push({ messages, resolve, reject });
      });
    },
    flush() {
      if (open.size > 0) flush();
    },
  };
}
