/**
 * Domain types of the broker (core and store). These are not the generated proto types: only
 * src/rpc/convert.ts maps between the two. Seqs and times are plain numbers (seq ≤ 2^53,
 * times in epoch milliseconds).
 */

/** How long a client-supplied message id is remembered. */
export type DedupScope = "window" | "unacked";
/** What a publish does when the topic is at a limit. */
export type OverflowPolicy = "reject" | "drop_oldest";

/** A message as handed to `publish`. */
export interface NewMessage {
  data: Uint8Array;
  attributes?: Record<string, string>;
  /** Client id; empty or absent: generated. */
  id?: string;
  /** 0..9, default 0. */
  priority?: number;
  orderingKey?: string;
  delayMs?: number;
  ttlMs?: number;
}

/** A stored message. */
export interface StoredMessage {
  topic: string;
  seq: number;
  id: string;
  data: Uint8Array;
  attributes: Record<string, string>;
  publishTimeMs: number;
  priority: number;
  orderingKey: string;
  /** 0: deliverable at publish. */
  deliverAtMs: number;
  /** 0: never expires. */
  expireAtMs: number;
}

/** What a publish did with one message. */
export interface PublishOutcome {
  seq: number;
  id: string;
  duplicate: boolean;
}

/** A message leased (or peeked) on a subscription. */
export interface Delivery {
  /** Opaque lease token; empty for peeks and auto-acked pulls. */
  ackId: string;
  message: StoredMessage;
  deliveryAttempt: number;
}

/** A topic's settings (see the proto's Topic). */
export interface TopicSettings {
  name: string;
  queue: boolean;
  dedupWindowMs: number;
  dedupScope: DedupScope;
  retainAckedMs: number;
  maxMessages: number;
  maxBytes: number;
  maxAgeMs: number;
  overflow: OverflowPolicy;
}

/** A topic as the API shows it. */
export interface TopicInfo extends TopicSettings {
  createTimeMs: number;
}

/** Where a new subscription starts reading its topic. */
export type StartPosition =
  | { kind: "earliest" }
  | { kind: "latest" }
  | { kind: "seq"; seq: number }
  | { kind: "time"; timeMs: number };

/** A push subscription's webhook settings (README "Push subscriptions"). */
export interface PushSettings {
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  anyResponseIsSuccess: boolean;
  hmacSecret: string;
  maxInFlight: number;
  wrap: boolean;
  /**
   * Requests built from each message's attributes (`form.url`, `form.<name>`, `header.<Name>`)
   * instead of its data: the OPQ form post. The endpoint is then empty.
   */
  form: boolean;
  /** 3xx and 4xx answers count as delivered; only 5xx, network errors and timeouts fail. */
  onlyServerErrorsFail: boolean;
}

/** A subscription's settings (see the proto's Subscription). */
export interface SubscriptionSettings {
  name: string;
  topic: string;
  ackDeadlineMs: number;
  maxDeliveryAttempts: number;
  deadLetterTopic: string;
  retry: { minBackoffMs: number; maxBackoffMs: number };
  start: StartPosition;
  filter: Record<string, string>;
  ordered: boolean;
  paused: boolean;
  expireAfterIdleMs: number;
  push: PushSettings | null;
}

/** A subscription as the API shows it. */
export interface SubscriptionInfo extends SubscriptionSettings {
  createTimeMs: number;
}

/** GetStats of one topic. */
export interface TopicStats {
  name: string;
  messages: number;
  bytes: number;
  lastSeq: number;
  subscriptions: number;
}

/** GetStats of one subscription. */
export interface SubscriptionStats {
  name: string;
  topic: string;
  backlog: number;
  inFlight: number;
  delayed: number;
  consumers: number;
  oldestUnackedAgeMs: number;
  paused: boolean;
  /** Messages that used up their delivery attempts: moved to the dead-letter topic, or dropped. */
  deadLettered: number;
  /** Set for push subscriptions: the delivery agent's view. */
  push?: PushStats;
}

/** What GetStats answers. */
export interface Stats {
  topics: TopicStats[];
  subscriptions: SubscriptionStats[];
}

/** One page of a listing and the token of the next ("" at the end). */
export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** A Pull as the core takes it. */
export interface PullRequest {
  subscription: string;
  /** 0: the default batch. */
  maxMessages: number;
  /** How long to wait for the first message. */
  waitMs: number;
  /** 0: the subscription's deadline. */
  ackDeadlineMs: number;
  autoAck: boolean;
  /** Most bytes of messages in the response (see the proto's max_bytes); 0 or absent: the server default. */
  maxBytes?: number;
  /**
   * Set only by the push agent, which delivers push subscriptions: anyone else's Pull of a push
   * subscription is refused (PUSH_SUBSCRIPTION), as it would compete with the pushes.
   */
  pushAgent?: boolean;
}

/** A Subscribe as the core takes it. */
export interface SubscribeRequest {
  subscription: string;
  /** Most leased, unacked messages the stream holds at once; 0: the server default. */
  maxOutstandingMessages: number;
  /** Most bytes (data plus attributes) the stream holds at once; 0: the server default. */
  maxOutstandingBytes: number;
  /** Lease length of the stream's messages; 0 or absent: the subscription's deadline. */
  ackDeadlineMs?: number;
}

/** What an Ack or Nack names: lease tokens (ack ids) and/or message ids. */
export interface AckTargets {
  ackIds: readonly string[];
  messageIds: readonly string[];
}

/** Where a Seek moves a subscription. */
export type SeekTarget =
  | { kind: "seq"; seq: number }
  | { kind: "time"; timeMs: number }
  | { kind: "snapshot"; name: string };

/** A named capture of a subscription's ack state. */
export interface SnapshotInfo {
  name: string;
  /** The subscription it was taken from. */
  subscription: string;
  topic: string;
  createTimeMs: number;
  /** The topic's last seq at capture: every later message counts as unacked after a Seek to it. */
  lastSeq: number;
  /** Unacked messages captured. */
  messages: number;
}

/** Where a Read starts. */
export type ReadFrom = { kind: "seq"; seq: number } | { kind: "time"; timeMs: number };

/** A Read as the core takes it. */
export interface ReadRequest {
  topic: string;
  from: ReadFrom;
  /** Keep the stream open and send new messages as they are published. */
  follow: boolean;
  /** Most messages per batch; 0: the server default. */
  maxMessages: number;
}
/** Delivery state of one push subscription (kept by the push agent, in memory). */
export interface PushStats {
  /** HTTP status of the last attempt; 0: network error or timeout (or no attempt yet). */
  lastStatus: number;
  /** Failed attempts since the last success. */
  consecutiveFailures: number;
  /** When the agent sends again after a failure; 0: not backing off. */
  nextAttemptTimeMs: number;
  /** When the last attempt ended; 0: none yet. */
  lastAttemptTimeMs: number;
  /** What went wrong last (empty after a success). */
  lastError: string;
}

/**
 * A change to subscriptions, for components that follow them (the push agent). Carries only
 * names: a listener reads the current state, so events may be coalesced or reordered safely.
 */
export type SubscriptionChange =
  /** Created, updated, paused, resumed or deleted. */
  | { kind: "subscription"; name: string }
  /** Moved by a Seek (replay): a push subscription starts again at once, without its backoff. */
  | { kind: "seek"; name: string }
  /** The topic and every subscription on it were deleted. */
  | { kind: "topic-deleted"; topic: string };
