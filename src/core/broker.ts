import type {
  AckTargets,
  Delivery,
  NewMessage,
  Page,
  PublishOutcome,
  PullRequest,
  PushStats,
  ReadRequest,
  SeekTarget,
  SnapshotInfo,
  Stats,
  StoredMessage,
  SubscribeRequest,
  SubscriptionChange,
  SubscriptionInfo,
  SubscriptionSettings,
  TopicInfo,
  TopicSettings,
} from "../model/index.js";

/** Options to create a topic: everything but the name is optional. */
export type CreateTopicSpec = Partial<TopicSettings> & {
  name: string;
  /** Settings of the queue's subscription (name and topic are ignored); only with `queue`. */
  queueSubscription?: Partial<SubscriptionSettings>;
};
/** Options of {@link Broker.peek}. */
export interface PeekOptions {
  /** From the back of the delivery order (the message delivered last comes first). */
  fromBack?: boolean;
  /** Most bytes of messages in the answer; 0 or absent: the server default (4 MiB). */
  maxBytes?: number;
}

/** Options to create a subscription: name and topic are required. */
export type CreateSubscriptionSpec = Partial<SubscriptionSettings> & { name: string; topic: string };

/**
 * The broker core: transport-blind domain operations. Every rule of the API (README, proto/) lives behind
 * this interface; the RPC layer only maps protos to these calls. Errors are `BrokerError`s.
 */
export interface Broker {
  publish(topic: string, messages: readonly NewMessage[]): Promise<PublishOutcome[]>;
  /** Leases up to `maxMessages`; waits up to `waitMs` (bounded by the server cap) for the first. */
  pull(request: PullRequest, signal: AbortSignal): Promise<Delivery[]>;
  /**
   * Streams batches of leased messages with flow control: at most the window's messages and
   * bytes unacked at once. Ends with CANCELED when `signal` aborts, SHUTTING_DOWN on close;
   * what the stream held unacked is then available again at once.
   */
  subscribe(request: SubscribeRequest, signal: AbortSignal): AsyncIterable<Delivery[]>;
  ack(subscription: string, targets: AckTargets): Promise<void>;
  /**
   * A failed delivery: available again after `delayMs`, or (0) after the subscription's retry
   * backoff; after `max_delivery_attempts` it goes to the dead-letter topic, carrying `error`.
   */
  nack(subscription: string, targets: AckTargets, delayMs: number, error?: string): Promise<void>;
  modifyAckDeadline(subscription: string, ackIds: readonly string[], ackDeadlineMs: number): Promise<void>;
  /**
   * The next available messages, without leasing them. `waitMs` (default 0) makes it a
   * long-poll: when nothing is available it waits for something to become available.
   */
  peek(
    subscription: string,
    maxMessages: number,
    waitMs?: number,
    signal?: AbortSignal,
    options?: PeekOptions,
  ): Promise<Delivery[]>;

  createTopic(spec: CreateTopicSpec): Promise<{ topic: TopicInfo; subscription?: SubscriptionInfo }>;
  getTopic(name: string): Promise<TopicInfo>;
  listTopics(pageSize: number, pageToken: string): Promise<Page<TopicInfo>>;
  updateTopic(name: string, patch: Partial<TopicSettings>): Promise<TopicInfo>;
  deleteTopic(name: string): Promise<void>;
  purgeTopic(name: string): Promise<number>;

  createSubscription(spec: CreateSubscriptionSpec): Promise<SubscriptionInfo>;
  getSubscription(name: string): Promise<SubscriptionInfo>;
  listSubscriptions(topic: string, pageSize: number, pageToken: string): Promise<Page<SubscriptionInfo>>;
  updateSubscription(name: string, patch: Partial<SubscriptionSettings>): Promise<SubscriptionInfo>;
  deleteSubscription(name: string): Promise<void>;
  setPaused(name: string, paused: boolean): Promise<SubscriptionInfo>;

  getStats(topics: readonly string[]): Promise<Stats>;
  /** Moves dead letters back to their subscription (0: all; filter on attributes); returns how many. */
  redrive(subscription: string, maxMessages: number, filter: Readonly<Record<string, string>>): Promise<number>;

  /** Moves a subscription to a seq, a time or a snapshot, atomically (README "Replay and retention"). */
  seek(subscription: string, target: SeekTarget): Promise<void>;
  /** Streams the stored log from a seq or time; with `follow`, new messages as they come. No leases. */
  read(request: ReadRequest, signal: AbortSignal): AsyncIterable<StoredMessage[]>;
  createSnapshot(name: string, subscription: string): Promise<SnapshotInfo>;
  /** Snapshots of one subscription ("" for all), in name order. */
  listSnapshots(subscription: string, pageSize: number, pageToken: string): Promise<Page<SnapshotInfo>>;
  deleteSnapshot(name: string): Promise<void>;
  /**
   * Ends leases without counting a failure: the messages are available again at once. For a
   * consumer that leased messages it never handed out (the push agent on shutdown). Ids that are
   * no longer leased are skipped.
   */
  release(subscription: string, ackIds: readonly string[]): Promise<void>;
  /**
   * Ends leases of deliveries that can never succeed as they are (the push agent's messages
   * without a usable target): each leaves the subscription at once, whatever its attempts, for
   * the dead-letter topic (`switchyard-dead-letter-reason: undeliverable`, `error` as its last
   * error) or dropped when none is set; either way it counts as dead-lettered. One whose
   * dead-letter topic is set but cannot take it stays, as after a failed Nack (never lost).
   * Resolves with how many left; fails like Nack for ids that are not leased.
   */
  reject(subscription: string, ackIds: readonly string[], error: string): Promise<number>;
  /** Calls `listener` after each subscription change; returns the unsubscribe function. */
  onSubscriptionChange(listener: (change: SubscriptionChange) => void): () => void;
  /** Registers where GetStats finds push delivery state (the push agent); undefined removes it. */
  setPushStatsSource(source: ((subscription: string) => PushStats | undefined) | undefined): void;

  /** Ends waits with SHUTTING_DOWN and stops timers. Does not close the store. */
  close(): Promise<void>;
}
