import type {
  StoredMessage,
  SubscriptionInfo,
  SubscriptionSettings,
  TopicInfo,
  TopicSettings,
} from "../model/index.js";
import type { ReplayStore } from "./replay-store.js";

/** A topic as the store keeps it. `id` is never reused: it is the generation of the name. */
export interface TopicRecord extends TopicInfo {
  id: number;
}

/** A subscription as the store keeps it. `id` is never reused. */
export interface SubscriptionRecord extends SubscriptionInfo {
  id: number;
  topicId: number;
}

/** One message to append; the core has filled in every field (id included). */
export interface AppendRecord {
  /**
   * The client's id, deduplicated within the topic's dedup scope. Empty: the store generates a
   * unique id from the topic and seq; such ids carry no dedup (a failed commit writes nothing, so a
   * retry cannot store a message twice) and need no index, so they cost no random-key writes.
   */
  id: string;
  data: Uint8Array;
  attributes: Record<string, string>;
  priority: number;
  orderingKey: string;
  /** 0: deliverable at once. */
  deliverAtMs: number;
  /** 0: never expires. */
  expireAtMs: number;
}

/** What an append did with one record: its seq and id, and whether it was a duplicate. */
export interface AppendResult {
  seq: number;
  id: string;
  duplicate: boolean;
}

/** A record handed out by {@link Store.lease} or {@link Store.peek}. */
export interface LeasedRecord {
  /** Opaque lease token, valid from any broker node; empty when not leased (peek, auto-ack). */
  token: string;
  message: StoredMessage;
  /** Delivery attempt, counted by the store: 1 on first delivery. */
  attempt: number;
}

/**
 * Per-target outcome of ack/nack/extend. `malformed`: not a token of this subscription;
 * `unknown`: not pending (acked, never delivered, or gone); `stale`: the message was leased
 * again since this token was issued.
 */
export type SettleOutcome = "ok" | "malformed" | "unknown" | "stale";

/** Options of {@link Store.lease}. */
export interface LeaseOptions {
  max: number;
  leaseMs: number;
  nowMs: number;
  /** Settle each record as it is handed out (at-most-once). */
  autoAck: boolean;
  /**
   * Most bytes of messages to hand out (data, attributes, ids and a per-message allowance for
   * framing); one message larger than this still goes alone. Default: no bound.
   */
  maxBytes?: number;
  /**
   * No message beyond `maxBytes`, not even a first one: for a caller that adds this lease to a
   * response it has begun (a Subscribe stream leasing one response in steps). Default false.
   */
  maxBytesStrict?: boolean;
  /**
   * With `autoAck`: the caller's signal. If it has aborted by the time the write runs, nothing
   * is taken (the caller is gone; its response could not carry the messages).
   */
  signal?: AbortSignal;
  /** Without `autoAck`: filled in by the lease with what it found beyond its records. */
  report?: LeaseReport;
}

/** What a lease found beyond its records ({@link LeaseOptions.report}). */
export interface LeaseReport {
  /**
   * The lease took everything the subscription had available: it stopped at the end of what
   * is there, not at its count or byte bound nor at a scan bound. Another lease finds nothing
   * until something is published, given back or comes due (what wakes a waiting Subscribe
   * stream). False when not known (a store may always answer false).
   */
  drained: boolean;
  /**
   * The bytes the lease took, as its `maxBytes` counts them, so that a caller that fills one
   * bound with several leases can give the next one what is left. Undefined when not known.
   */
  bytes?: number;
}

/** What an ack/nack/extend targets: lease tokens and/or message ids. */
export interface SettleTargets {
  tokens: readonly string[];
  messageIds: readonly string[];
}

/** Counters of one topic. */
export interface TopicCounters {
  messages: number;
  bytes: number;
  lastSeq: number;
  subscriptions: number;
}

/** Counters of one subscription. */
export interface SubscriptionCounters {
  unacked: number;
  inFlight: number;
  delayed: number;
  /** Publish time of the oldest unacked message; 0 when none. */
  oldestUnackedPublishMs: number;
}

/** What a backend can do natively; the core adapts to what it cannot. */
export interface StoreCapabilities {
  /** Each lease has its own deadline (LMDB: yes; JetStream: one ack wait per consumer). */
  perMessageLeaseDeadlines: boolean;
  /** Acks with a token of an older lease are refused (`stale`). */
  leaseFencing: boolean;
  /** Priority lanes the backend can afford (LMDB: 10). */
  priorityLanes: number;
  /**
   * Leases survive a restart of the broker (LMDB: no, a lease lives in the broker's memory and a
   * restart makes every unacked message available again; JetStream: yes, the consumer keeps them).
   */
  leasesSurviveRestart: boolean;
}

/**
 * The storage seam: a log per topic plus, per subscription, a cursor with leases. Every method
 * is one atomic semantic operation; no connection or transaction type leaks out, and nothing
 * here assumes the store is local. Policy (backoff, dead letters, limits) lives in the core.
 * Errors are `BrokerError`s: TOPIC_NOT_FOUND, SUBSCRIPTION_NOT_FOUND, ALREADY_EXISTS; failures of
 * the backend itself are STORE_UNAVAILABLE with `retryable` set only when nothing was written, so
 * the same call may be repeated safely; when the backend cannot know what was written (a failed
 * sync), the call fails with STORE_FAILED and the store refuses every later write (the LMDB store:
 * kv/fail-safe-kv.ts).
 *
 * The shape is that of a replicated log with durable consumers, so a NATS JetStream backend can
 * implement it without faking cursors: a topic is a stream, a subscription a durable pull consumer
 * (its ack floor and pending set are the cursor; `lease` a fetch, `ack`/`nack`/`extend` the
 * consumer's ack, nak with delay and in-progress), priority lanes are subjects of the stream with
 * a filtered consumer each (`capabilities.priorityLanes` says how many a backend affords), and a
 * lease token is the ack reply subject. What a backend does differently is a capability flag
 * ({@link StoreCapabilities}), not a silent difference: the LMDB engine keeps leases in the
 * broker's memory (`leasesSurviveRestart: false`), JetStream in the consumer.
 */
export interface Store extends ReplayStore {
  readonly capabilities: StoreCapabilities;

  /** Creates a topic, and with `queueSubscription` a same-name subscription in the same transaction. */
  createTopic(
    settings: TopicSettings,
    nowMs: number,
    queueSubscription?: SubscriptionSettings,
  ): Promise<{ topic: TopicRecord; subscription?: SubscriptionRecord }>;
  getTopic(name: string): Promise<TopicRecord | undefined>;
  /** Topics in name order, names > `after`. */
  listTopics(after: string, limit: number): Promise<TopicRecord[]>;
  updateTopic(name: string, settings: TopicSettings): Promise<TopicRecord>;
  /** Deletes the topic, its messages and its subscriptions. */
  deleteTopic(name: string): Promise<void>;
  /** Drops every stored message of the topic from the log and every subscription; returns how many. */
  purgeTopic(name: string): Promise<number>;

  /** Creates a subscription; messages already stored from `start` on become available to it. */
  createSubscription(settings: SubscriptionSettings, nowMs: number): Promise<SubscriptionRecord>;
  getSubscription(name: string): Promise<SubscriptionRecord | undefined>;
  /** Subscriptions in name order, names > `after`, of one topic ("" for all). */
  listSubscriptions(topic: string, after: string, limit: number): Promise<SubscriptionRecord[]>;
  updateSubscription(name: string, settings: SubscriptionSettings): Promise<SubscriptionRecord>;
  deleteSubscription(name: string): Promise<void>;

  /**
   * Appends messages atomically with contiguous seqs; ids already known within the topic's dedup
   * scope are reported as duplicates with the original seq. Resolves when durable.
   */
  append(topic: string, records: readonly AppendRecord[], nowMs: number): Promise<AppendResult[]>;
  /** Leases up to `max` available records in priority-then-seq order; expired messages are dropped. */
  lease(subscription: string, options: LeaseOptions): Promise<LeasedRecord[]>;
  /**
   * The next available records, without leasing them. `fromBack`: from the end of the delivery
   * order instead (the record that would be delivered last comes first). `maxBytes` bounds them
   * as {@link LeaseOptions.maxBytes} does.
   */
  peek(
    subscription: string,
    max: number,
    nowMs: number,
    fromBack?: boolean,
    maxBytes?: number,
  ): Promise<LeasedRecord[]>;
  /** Removes messages from the subscription. */
  ack(subscription: string, targets: SettleTargets, nowMs: number): Promise<SettleOutcome[]>;
  /**
   * Ends leases; the messages are available again at `redeliverAtMs` (≤ now: at once). With
   * `options.failed`, the subscription's retry policy applies (see {@link NackOptions}).
   */
  nack(
    subscription: string,
    targets: SettleTargets,
    redeliverAtMs: number,
    nowMs: number,
    options?: NackOptions,
  ): Promise<SettleOutcome[]>;
  /**
   * Ends leases of deliveries that can never succeed as they are (a push message without a usable
   * target): each leaves the subscription at once, whatever its attempts, for the dead-letter
   * topic (reason `undeliverable`, carrying `error`) or dropped when none is set, and counts as
   * dead-lettered. One whose dead-letter topic is set but cannot take it stays on the
   * subscription, as after a failed nack. Returns the per-token outcomes and how many left.
   */
  reject(
    subscription: string,
    tokens: readonly string[],
    nowMs: number,
    error: string,
  ): Promise<{ outcomes: SettleOutcome[]; left: number }>;
  /** Moves lease deadlines to `untilMs`. */
  extend(subscription: string, tokens: readonly string[], untilMs: number, nowMs: number): Promise<SettleOutcome[]>;
  /** The earliest time a lease expires or a delayed message becomes available; undefined: none. */
  nextDueMs(subscription: string): Promise<number | undefined>;

  topicCounters(name: string): Promise<TopicCounters>;
  subscriptionCounters(name: string): Promise<SubscriptionCounters>;

  /**
   * Moves dead-lettered messages of `subscription` (found by their dead-letter attributes on the
   * subscription's dead-letter topic) back to it, in one atomic step: each leaves the dead-letter
   * topic (its log and every subscription of it) and is appended again to the source topic,
   * delivered to this subscription only. Scans at most `maxScan` log entries after `afterSeq`.
   */
  redrive(subscription: string, options: RedriveOptions, nowMs: number): Promise<RedriveChunk>;
  /**
   * Applies the subscription's due times at `nowMs` as a lease would, without handing anything
   * out: expired leases and elapsed delays become available again (or wait the retry backoff, or
   * leave after max delivery attempts). For when no consumer is there to call lease.
   */
  applyDue(subscription: string, nowMs: number): Promise<void>;
  /** Messages of the subscription that used up their delivery attempts: dead-lettered or dropped. */
  deadLettered(subscription: string): Promise<number>;

  /** Waits for outstanding writes, then releases the backend. */
  close(): Promise<void>;
}

export type { SubscriptionSettings, TopicSettings };

/** Options of {@link Store.nack}. */
export interface NackOptions {
  /**
   * The delivery failed (a consumer's nack), rather than being given back unprocessed (a stream
   * that ended): with `redeliverAtMs` ≤ now the subscription's retry backoff applies, and a
   * message that used up `max_delivery_attempts` leaves for the dead-letter topic (or is dropped
   * when none is set). An expired lease counts as a failed delivery too.
   */
  failed?: boolean;
  /** Why it failed (the nack's `error`), recorded on the dead letter. */
  error?: string;
}

/** Options of {@link Store.redrive}: one bounded step of a Redrive. */
export interface RedriveOptions {
  /** Most messages to move. */
  maxMessages: number;
  /** Only messages whose attributes have every one of these values. */
  filter: Readonly<Record<string, string>>;
  /** Scan the dead-letter topic's log after this seq (0: from the start). */
  afterSeq: number;
  /**
   * Scan no further than this seq: the log's end when the Redrive began, so a Redrive ends even
   * while new dead letters arrive (say, the very messages it moved, failing again).
   */
  untilSeq: number;
  /** Most log entries to look at. */
  maxScan: number;
}

/** What one {@link Store.redrive} step did. */
export interface RedriveChunk {
  moved: number;
  /** The last seq looked at: the next step starts after it. */
  lastSeq: number;
  /** True when the scan reached the end of the log. */
  done: boolean;
}
