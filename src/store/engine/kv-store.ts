import { BrokerError } from "../../errors/index.js";
import type { SeekTarget, SubscriptionSettings, TopicSettings } from "../../model/index.js";
import type { KvEngine, KvReader, KvWriter } from "../kv/kv.js";
import type {
  AppendRecord,
  AppendResult,
  LeasedRecord,
  LeaseOptions,
  LogPage,
  NackOptions,
  RedriveChunk,
  RedriveOptions,
  SettleOutcome,
  SettleTargets,
  SnapshotRecord,
  Store,
  StoreCapabilities,
  SubscriptionCounters,
  SubscriptionRecord,
  SweepResult,
  TopicCounters,
  TopicRecord,
} from "../store.js";
import { MAX_REPLAY_ENTRIES } from "../store.js";
import { appendRecords, topicSubscriptionIds } from "./append.js";
import { applyDueTimes } from "./apply-due.js";
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
import { readDeadLettered } from "./dead-letter.js";
import { leaseRecords, mayHaveAvailable, nextDue, peekRecords } from "./delivery.js";
import { idKey, prefixEnd, readU64, readyLaneKey, seqKey, Table } from "./keys.js";
import { messagePublishTime } from "./message-codec.js";
import { firstEarlySeq } from "./ordering.js";
import { peekBackRecords } from "./peek-back.js";
import { readLogPage, seqAtTime } from "./read-log.js";
import { findSubscription, findTopic, readCounters, readHead, requireSubscription, requireTopic } from "./records.js";
import { redriveChunk } from "./redrive.js";
import { hasRetained, retainedDue, sweepRetained } from "./retain.js";
import { seekSubscription } from "./seek.js";
import { ackTargets, extendTokens, nackTargets } from "./settle.js";
import { createSnapshotRecord, deleteSnapshotRecord, listSnapshotRecords } from "./snapshots.js";
import { hasLimitedTopics, limitsDue, sweepLimits } from "./topic-limits.js";
import { hasTtl, sweepTtl, ttlDue } from "./ttl.js";

/**
 * The time deletes run at: they carry no clock of the caller's, and the wall clock may differ from
 * it. No dedup window ends at this time, so window-scope ids of released messages stay until the
 * dedup sweep (run by appends, with the caller's time) removes them.
 */
const NO_CLOCK_MS = Number.NEGATIVE_INFINITY;

/**
 * The {@link Store} on an ordered KV engine. LMDB and the in-memory reference both run this one
 * engine, so the conformance suite checks the KV layer (ordering, atomicity, durability) of each.
 */
export class KvStore implements Store {
  readonly capabilities: StoreCapabilities = { perMessageLeaseDeadlines: true, leaseFencing: true, priorityLanes: 10 };
  private closed = false;

  /**
   * @param maxReplayEntries Most messages one Seek or snapshot may touch (default
   *   {@link MAX_REPLAY_ENTRIES}); tests set it low.
   */
  constructor(
    private readonly kv: KvEngine,
    private readonly maxReplayEntries = MAX_REPLAY_ENTRIES,
  ) {}

  /**
   * Runs an engine operation in a write transaction. Errors thrown by the operation itself pass
   * through (BrokerErrors) or become INTERNAL, never retryable: the transaction is not rolled
   * back, so repeating it is unsafe. Only a failure of the backend to commit (nothing written)
   * is STORE_UNAVAILABLE and retryable.
   */
  private write<T>(fn: (w: KvWriter) => T, options?: { sync?: boolean }): Promise<T> {
    if (this.closed) return Promise.reject(new BrokerError("SHUTTING_DOWN", "the store is closed"));
    let operationThrew = false;
    const operation = (w: KvWriter): T => {
      try {
        return fn(w);
      } catch (e) {
        operationThrew = true;
        throw e;
      }
    };
    return this.kv.write(operation, options).catch((e: unknown) => {
      if (e instanceof BrokerError) throw e;
      if (operationThrew) throw new BrokerError("INTERNAL", "a store operation failed", { cause: e });
      throw new BrokerError("STORE_UNAVAILABLE", "the store failed to commit", { cause: e, retryable: true });
    });
  }

  private read<T>(fn: (r: KvReader) => T): Promise<T> {
    if (this.closed) return Promise.reject(new BrokerError("SHUTTING_DOWN", "the store is closed"));
    try {
      return Promise.resolve(this.kv.read(fn));
    } catch (e) {
      return Promise.reject(BrokerError.from(e));
    }
  }

  createTopic(settings: TopicSettings, nowMs: number, queueSubscription?: SubscriptionSettings) {
    return this.write((w) => createTopicRecord(w, settings, nowMs, queueSubscription));
  }
  getTopic(name: string): Promise<TopicRecord | undefined> {
    return this.read((r) => findTopic(r, name));
  }
  listTopics(after: string, limit: number): Promise<TopicRecord[]> {
    return this.read((r) => listTopicRecords(r, after, limit));
  }
  updateTopic(name: string, settings: TopicSettings): Promise<TopicRecord> {
    return this.write((w) => updateTopicRecord(w, name, settings));
  }
  deleteTopic(name: string): Promise<void> {
    return this.write((w) => deleteTopicRecord(w, name, NO_CLOCK_MS));
  }
  purgeTopic(name: string): Promise<number> {
    return this.write((w) => purgeTopicRecords(w, name));
  }

  createSubscription(settings: SubscriptionSettings, nowMs: number): Promise<SubscriptionRecord> {
    return this.write((w) => createSubscriptionRecord(w, settings, nowMs));
  }
  getSubscription(name: string): Promise<SubscriptionRecord | undefined> {
    return this.read((r) => findSubscription(r, name));
  }
  listSubscriptions(topic: string, after: string, limit: number): Promise<SubscriptionRecord[]> {
    return this.read((r) => listSubscriptionRecords(r, topic, after, limit));
  }
  updateSubscription(name: string, settings: SubscriptionSettings): Promise<SubscriptionRecord> {
    return this.write((w) => updateSubscriptionRecord(w, name, settings));
  }
  deleteSubscription(name: string): Promise<void> {
    return this.write((w) => deleteSubscriptionRecord(w, name, NO_CLOCK_MS));
  }

  append(topic: string, records: readonly AppendRecord[], nowMs: number): Promise<AppendResult[]> {
    return this.write((w) => appendRecords(w, topic, records, nowMs));
  }

  async lease(subscription: string, options: LeaseOptions): Promise<LeasedRecord[]> {
    // Read-only fast path: an empty subscription costs no write transaction.
    const busy = await this.read((r) => {
      const sub = requireSubscription(r, subscription);
      return mayHaveAvailable(r, sub.id, options.nowMs);
    });
    if (!busy) return [];
    // A lease need not be synced before it is handed out: lost in a crash, it only makes the
    // message available again, which is what a crash does to every unacked lease anyway. An
    // auto-ack is a settle and waits for the sync (at most once).
    return this.write((w) => leaseRecords(w, subscription, options), { sync: options.autoAck });
  }
  peek(subscription: string, max: number, nowMs: number, fromBack = false): Promise<LeasedRecord[]> {
    if (fromBack) return this.write((w) => peekBackRecords(w, subscription, max, nowMs));
    return this.write((w) => peekRecords(w, subscription, max, nowMs));
  }
  ack(subscription: string, targets: SettleTargets, nowMs: number): Promise<SettleOutcome[]> {
    return this.write((w) => ackTargets(w, subscription, targets, nowMs));
  }
  nack(subscription: string, targets: SettleTargets, redeliverAtMs: number, nowMs: number, options?: NackOptions) {
    return this.write((w) => nackTargets(w, subscription, targets, redeliverAtMs, nowMs, options));
  }
  extend(subscription: string, tokens: readonly string[], untilMs: number, nowMs: number) {
    return this.write((w) => extendTokens(w, subscription, tokens, untilMs, nowMs));
  }
  nextDueMs(subscription: string): Promise<number | undefined> {
    return this.read((r) => nextDue(r, requireSubscription(r, subscription).id));
  }

  redrive(subscription: string, options: RedriveOptions, nowMs: number): Promise<RedriveChunk> {
    return this.write((w) => redriveChunk(w, subscription, options, nowMs));
  }
  applyDue(subscription: string, nowMs: number): Promise<void> {
    return this.write((w) => applyDueTimes(w, subscription, nowMs));
  }
  deadLettered(subscription: string): Promise<number> {
    return this.read((r) => readDeadLettered(r, requireSubscription(r, subscription).id));
  }

  topicCounters(name: string): Promise<TopicCounters> {
    return this.read((r) => {
      const t = requireTopic(r, name);
      const h = readHead(r, t.id);
      return {
        messages: h.messages,
        bytes: h.bytes,
        lastSeq: h.lastSeq,
        subscriptions: topicSubscriptionIds(r, t.id).length,
      };
    });
  }

  subscriptionCounters(name: string): Promise<SubscriptionCounters> {
    return this.read((r) => {
      const s = requireSubscription(r, name);
      const c = readCounters(r, s.id);
      return { ...c, oldestUnackedPublishMs: oldestUnacked(r, s) };
    });
  }

  seek(subscription: string, target: SeekTarget, nowMs: number): Promise<void> {
    return this.write((w) => seekSubscription(w, subscription, target, nowMs, this.maxReplayEntries));
  }
  createSnapshot(name: string, subscription: string, nowMs: number): Promise<SnapshotRecord> {
    return this.write((w) => createSnapshotRecord(w, name, subscription, nowMs, this.maxReplayEntries));
  }
  listSnapshots(subscription: string, after: string, limit: number): Promise<SnapshotRecord[]> {
    return this.read((r) => listSnapshotRecords(r, subscription, after, limit));
  }
  deleteSnapshot(name: string, nowMs: number): Promise<void> {
    return this.write((w) => deleteSnapshotRecord(w, name, nowMs));
  }
  readLog(topic: string, fromSeq: number, max: number, maxBytes: number, nowMs: number): Promise<LogPage> {
    return this.read((r) => readLogPage(r, topic, fromSeq, max, maxBytes, nowMs));
  }
  seqAtTime(topic: string, timeMs: number): Promise<number> {
    return this.read((r) => seqAtTime(r, topic, timeMs));
  }
  /** Retained messages first (a time-ordered index), then topic limits, in one transaction. */
  async sweepRetention(nowMs: number, maxWork: number): Promise<SweepResult> {
    // Read-only first: an idle sweep costs no write transaction (and no sync).
    const due = await this.read((r) => retainedDue(r, nowMs) || limitsDue(r, nowMs) || ttlDue(r, nowMs));
    if (!due) return { removed: 0, more: false, changedTopics: [] };
    return this.write((w) => {
      const changed = new Set<string>();
      const expired = sweepTtl(w, nowMs, maxWork, changed);
      // Retained messages are held by no subscription: dropping them changes no consumer's view.
      const retained = sweepRetained(w, nowMs, Math.max(0, maxWork - expired.seen));
      const limits = sweepLimits(w, nowMs, Math.max(0, maxWork - expired.seen - retained.seen), changed);
      return {
        removed: expired.removed + retained.removed + limits.removed,
        more: expired.seen + retained.seen >= maxWork || limits.more,
        changedTopics: [...changed],
      };
    });
  }

  hasRetentionWork(): Promise<boolean> {
    return this.read((r) => hasRetained(r) || hasLimitedTopics(r) || hasTtl(r));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.kv.close();
  }
}

/**
 * Publish time of the lowest unacked seq: the head of each priority lane and of the pending set,
 * and of an ordered subscription's early waiting messages (a waiting message otherwise has a
 * higher seq than its key's active one, which is ready or pending).
 */
function oldestUnacked(r: KvReader, s: SubscriptionRecord): number {
  let min = Number.POSITIVE_INFINITY;
  for (let p = 0; p <= 9; p++) {
    const lane = readyLaneKey(s.id, p);
    const [first] = r.range({ start: lane, end: prefixEnd(lane), limit: 1 });
    if (first) min = Math.min(min, readU64(first.key, 6));
  }
  const pending = idKey(Table.Pending, s.id);
  const [first] = r.range({ start: pending, end: prefixEnd(pending), limit: 1 });
  if (first) min = Math.min(min, readU64(first.key, 5));
  if (s.ordered) min = Math.min(min, firstEarlySeq(r, s.id) ?? min);
  if (min === Number.POSITIVE_INFINITY) return 0;
  const raw = r.get(seqKey(Table.Message, s.topicId, min));
  return raw ? messagePublishTime(raw) : 0;
}
