import type { SeekTarget, SubscriptionSettings, TopicSettings } from "../../model/index.js";
import type { LogPage, SnapshotRecord, SweepResult } from "../replay-store.js";
import type {
  AppendRecord,
  AppendResult,
  LeasedRecord,
  LeaseOptions,
  NackOptions,
  RedriveChunk,
  RedriveOptions,
  SettleOutcome,
  SettleTargets,
  Store,
  StoreCapabilities,
  SubscriptionCounters,
  SubscriptionRecord,
  TopicCounters,
  TopicRecord,
} from "../store.js";
import { appendRecords } from "./append.js";
import {
  createSubscriptionRecord,
  createTopicRecord,
  deleteSubscriptionRecord,
  deleteTopicRecord,
  listSubscriptionRecords,
  listTopicRecords,
  purgeTopicRecords,
  updateSubscriptionRecord,
  updateTopicRecord,
} from "./catalog.js";
import type { Cursor } from "./cursor.js";
import { pick } from "./deliver.js";
import { KvStoreBase, NO_CLOCK_MS } from "./kv-store-base.js";
import { MAX_TRACKED } from "./lane-reads.js";
import { autoAck, leasePicks } from "./lease.js";
import { decodeMessage } from "./message-codec.js";
import { peekAvailable } from "./peek.js";
import { peekBack } from "./peek-back.js";
import type { Picked } from "./picker.js";
import { readLogPage, seqAtTimeIn } from "./read-log.js";
import { redriveChunk } from "./redrive.js";
import { createSnapshotRecord, deleteSnapshotRecord, listSnapshotRecords, seekSubscription } from "./seek.js";
import { ackTargets, extendTokens, nackTargets, rejectTokens } from "./settle.js";
import { subscriptionRecordCopy } from "./state.js";
import { nextDue, subscriptionCounters } from "./stats.js";
import { StepBudget } from "./step-budget.js";
import {
  dedupDue,
  hasDedupEntries,
  hasRetained,
  hasTtl,
  retainedDue,
  sweepDedup,
  sweepRetained,
  sweepTtl,
  ttlDue,
} from "./sweeps.js";
import { hasLimitedTopics, limitsDue, sweepLimits } from "./topic-limits.js";
import { trimPending, trimStep } from "./trim.js";

/**
 * The {@link Store} on an ordered KV engine (store format 3): a log per topic and a cursor per
 * subscription (see engine/cursor.ts). LMDB and the in-memory reference both run this one
 * engine, so the conformance suite checks the KV layer (ordering, durability) of each. Topics,
 * cursors and snapshots live in memory, loaded when the store opens; each write operation
 * persists what it changed in its own transaction, and delivery only reads.
 */
export class KvStore extends KvStoreBase implements Store {
  readonly capabilities: StoreCapabilities = {
    perMessageLeaseDeadlines: true,
    leaseFencing: true,
    priorityLanes: 10,
    leasesSurviveRestart: false,
  };

  createTopic(settings: TopicSettings, nowMs: number, queueSubscription?: SubscriptionSettings) {
    return this.op(nowMs, (tx) => createTopicRecord(tx, this.jobs, settings, queueSubscription));
  }
  getTopic(name: string): Promise<TopicRecord | undefined> {
    return this.read(() => {
      const t = this.state.topics.get(name);
      return t ? { ...t.record } : undefined;
    });
  }
  listTopics(after: string, limit: number): Promise<TopicRecord[]> {
    return this.read((r) => listTopicRecords(r, this.state, after, limit));
  }
  updateTopic(name: string, settings: TopicSettings): Promise<TopicRecord> {
    return this.op(NO_CLOCK_MS, (tx) => updateTopicRecord(tx, name, settings));
  }
  deleteTopic(name: string): Promise<void> {
    return this.op(NO_CLOCK_MS, (tx) => deleteTopicRecord(tx, this.jobs, name));
  }
  purgeTopic(name: string): Promise<number> {
    return this.op(NO_CLOCK_MS, (tx) => purgeTopicRecords(tx, this.jobs, name));
  }

  createSubscription(settings: SubscriptionSettings, nowMs: number): Promise<SubscriptionRecord> {
    return this.op(nowMs, (tx) => createSubscriptionRecord(tx, this.jobs, settings));
  }
  getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
    return this.read(() => {
      const c = this.state.cursors.get(name);
      return c ? subscriptionRecordCopy(c) : undefined;
    });
  }
  listSubscriptions(topic: string, after: string, limit: number): Promise<SubscriptionRecord[]> {
    return this.read((r) => listSubscriptionRecords(r, this.state, topic, after, limit));
  }
  updateSubscription(name: string, settings: SubscriptionSettings): Promise<SubscriptionRecord> {
    return this.op(NO_CLOCK_MS, (tx) => updateSubscriptionRecord(tx, name, settings));
  }
  deleteSubscription(name: string): Promise<void> {
    return this.op(NO_CLOCK_MS, (tx) => deleteSubscriptionRecord(tx, this.jobs, name));
  }

  append(topic: string, records: readonly AppendRecord[], nowMs: number): Promise<AppendResult[]> {
    return this.op(nowMs, (tx) => appendRecords(tx, topic, records));
  }

  async lease(subscription: string, options: LeaseOptions): Promise<LeasedRecord[]> {
    const { c, t } = this.cursor(subscription);
    await this.due(c, options.nowMs);
    this.stillThere(c);
    const { max, maxBytes = Number.POSITIVE_INFINITY, maxBytesStrict, nowMs, report } = options;
    const o = { max, maxBytes, maxBytesStrict, nowMs };
    // At most once: handed out and settled in one synced write.
    if (options.autoAck)
      return this.op(options.nowMs, (tx) => {
        this.stillThere(c); // deleted while this call waited for its turn
        if (options.signal?.aborted) return []; // the caller left while this write waited
        return autoAck(tx, t, c, o);
      });
    // Delivery reads the log and leases in memory: no write stands between a publish and a consumer.
    const end = { stopped: false, bytes: 0 };
    const picks = this.kv.read((r) => pick(this.state, r, t, c, o, end));
    if (report) [report.drained, report.bytes] = [drained(c, picks.length, o.max, end.stopped), end.bytes];
    const records = leasePicks(this.state, c, picks, options.nowMs + options.leaseMs);
    // A retry whose failed attempts are not on disk yet would, after a crash, go out again with
    // a lower attempt than the one handed out now (and one past max_delivery_attempts): one
    // synced write for the whole batch, before anyone sees the retry.
    const unwritten = retriesUnwritten(c, picks);
    if (c.outgoing.size > 0 || unwritten) await this.settleOutgoing(c, options.nowMs, unwritten);
    this.scheduleFlush();
    return records;
  }

  async peek(
    subscription: string,
    max: number,
    nowMs: number,
    fromBack = false,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<LeasedRecord[]> {
    const { c, t } = this.cursor(subscription);
    await this.due(c, nowMs);
    this.stillThere(c);
    // Bounded by count and bytes as it reads: only what is returned is copied.
    const found = this.kv.read((r) =>
      fromBack
        ? peekBack(this.state, r, t, c, max, nowMs, maxBytes)
        : peekAvailable(this.state, r, t, c, max, nowMs, maxBytes),
    );
    return found.map((p) => ({ token: "", message: decodeMessage(p.raw, t.name, p.seq), attempt: p.attempt }));
  }

  ack(subscription: string, targets: SettleTargets, nowMs: number): Promise<SettleOutcome[]> {
    // Off the latency path, so it may wait (boundedly) to share the next transaction
    // (kv/commit-queue.ts), except on an ordered subscription: there a key's next message waits
    // for this ack.
    const deferrable = this.state.cursors.get(subscription)?.ordered !== true;
    return this.op(nowMs, (tx) => ackTargets(tx, subscription, targets), { deferrable });
  }
  nack(subscription: string, targets: SettleTargets, redeliverAtMs: number, nowMs: number, options?: NackOptions) {
    return this.releasing(subscription, () =>
      this.op(nowMs, (tx) => nackTargets(tx, subscription, targets, redeliverAtMs, options)),
    );
  }
  reject(subscription: string, tokens: readonly string[], nowMs: number, error: string) {
    return this.releasing(subscription, () => this.op(nowMs, (tx) => rejectTokens(tx, subscription, tokens, error)));
  }
  extend(subscription: string, tokens: readonly string[], untilMs: number, _nowMs: number) {
    return this.read((r) => extendTokens(this.state, r, subscription, tokens, untilMs));
  }
  nextDueMs(subscription: string): Promise<number | undefined> {
    return this.read((r) => {
      const c = this.state.requireCursor(subscription);
      return nextDue(r, this.state.topicOf(c), c);
    });
  }

  redrive(subscription: string, options: RedriveOptions, nowMs: number): Promise<RedriveChunk> {
    return this.op(nowMs, (tx) => redriveChunk(tx, subscription, options));
  }
  async applyDue(subscription: string, nowMs: number): Promise<void> {
    const { c } = this.cursor(subscription);
    await this.due(c, nowMs);
    this.scheduleFlush();
  }
  deadLettered(subscription: string): Promise<number> {
    return this.read(() => this.state.requireCursor(subscription).deadLettered);
  }

  topicCounters(name: string): Promise<TopicCounters> {
    return this.read(() => {
      const t = this.state.requireTopic(name);
      const h = t.head;
      return { messages: h.messages, bytes: h.bytes, lastSeq: h.lastSeq, subscriptions: t.cursors.size };
    });
  }

  subscriptionCounters(name: string): Promise<SubscriptionCounters> {
    return this.read((r) => {
      const c = this.state.requireCursor(name);
      return subscriptionCounters(r, this.state.topicOf(c), c);
    });
  }

  seek(subscription: string, target: SeekTarget, nowMs: number): Promise<void> {
    return this.releasing(subscription, () =>
      this.op(nowMs, (tx) => seekSubscription(tx, subscription, target, this.maxReplayEntries)),
    );
  }
  createSnapshot(name: string, subscription: string, nowMs: number): Promise<SnapshotRecord> {
    return this.op(nowMs, (tx) => createSnapshotRecord(tx, name, subscription, this.maxReplayEntries));
  }
  listSnapshots(subscription: string, after: string, limit: number): Promise<SnapshotRecord[]> {
    return this.read(() => listSnapshotRecords({ state: this.state }, subscription, after, limit));
  }
  deleteSnapshot(name: string, nowMs: number): Promise<void> {
    return this.op(nowMs, (tx) => deleteSnapshotRecord(tx, this.jobs, name));
  }
  readLog(topic: string, fromSeq: number, max: number, maxBytes: number, nowMs: number): Promise<LogPage> {
    return this.read((r) => readLogPage(r, this.state, topic, fromSeq, max, maxBytes, nowMs));
  }
  seqAtTime(topic: string, timeMs: number): Promise<number> {
    return this.read((r) => seqAtTimeIn(r, this.state.requireTopic(topic), timeMs));
  }

  /**
   * Messages past their TTL first, then retained messages, topic limits, dedup entries,
   * background jobs and the trim of released messages, at most `maxWork` entries in all, in one
   * transaction.
   */
  async sweepRetention(nowMs: number, maxWork: number): Promise<SweepResult> {
    // Read-only first: an idle sweep costs no write transaction (and no sync).
    const due = await this.read(
      (r) => ttlDue(r, nowMs) || retainedDue(r, nowMs) || limitsDue(r, this.state, nowMs) || dedupDue(r, nowMs),
    );
    if (!due && !this.jobs.pending && !trimPending(this.state)) return { removed: 0, more: false, changedTopics: [] };
    return this.op(
      nowMs,
      (tx) => {
        // One budget for the whole step: entries looked at, and bytes of messages read.
        const budget = new StepBudget(maxWork);
        const expired = sweepTtl(tx, budget);
        const retained = sweepRetained(tx, budget);
        const limits = sweepLimits(tx, budget);
        sweepDedup(tx, budget);
        if (!budget.spent) this.jobs.run(tx, budget);
        const trimmed = budget.spent ? { more: trimPending(this.state) } : trimStep(tx, budget);
        return {
          removed: expired.removed + retained.removed + limits.removed,
          more: expired.more || retained.more || limits.more || budget.spent || this.jobs.pending || trimmed.more,
          changedTopics: [...tx.changedTopics],
        };
        // Background work: may wait (boundedly) to share the next Publish's transaction.
      },
      { deferrable: true },
    );
  }

  hasRetentionWork(): Promise<boolean> {
    return this.read((r) => hasRetained(r) || hasLimitedTopics(r) || hasTtl(r));
  }

  hasBackgroundWork(): Promise<boolean> {
    return this.read((r) => this.jobs.pending || trimPending(this.state) || hasDedupEntries(r));
  }
}

/**
 * Does a pick retry a message whose failed attempts may not be durable yet: recorded and not
 * written, or written by a write still in flight (a synced write after it commits after it)?
 */
function retriesUnwritten(c: Cursor, picks: readonly Picked[]): boolean {
  for (const p of picks) if (p.attempt >= 2 && (c.stateWrites > 0 || c.dirtyStates.get(p.seq))) return true;
  return false;
}

/**
 * Whether a lease that picked `picked` of `max` took all the cursor had available (see
 * LeaseReport in store.ts): not stopped by its count, its bytes or the scan budget, below the
 * tracking bound (past it, lanes are not read), and not ordered (keys wait their turn there).
 */
function drained(c: Cursor, picked: number, max: number, stopped: boolean): boolean {
  return !c.ordered && !stopped && !c.scanIncomplete && picked < max && c.tracked.size < MAX_TRACKED;
}
