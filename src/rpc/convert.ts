/**
 * Proto ⇄ domain conversion: the only module that sees both. 64-bit proto integers are
 * `bigint`; the core uses numbers (seqs and milliseconds stay below 2^53), and a value
 * that does not fit is INVALID_ARGUMENT here, never a silent rounding.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Timestamp, type TimestampSchema, timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import {
  DedupScope,
  type MessageSchema,
  OverflowPolicy,
  type StartPosition as ProtoStartPosition,
  type PublishMessage,
  type PushStatsSchema,
  type ReceivedMessageSchema,
  type Subscription,
  type SubscriptionSchema,
  type Topic,
  type TopicSchema,
} from "../../gen/switchyard/v1/types_pb.js";
import type {
  Delivery,
  NewMessage,
  PushStats,
  StartPosition,
  StoredMessage,
  SubscriptionInfo,
  SubscriptionSettings,
  TopicInfo,
  TopicSettings,
} from "../core/index.js";
import { invalidArgument } from "../errors/index.js";

/** The largest uint64 field value that converts to a number exactly. */
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

/** A uint64 field as a safe integer number. */
export function toNumber(value: bigint, field: string): number {
  if (value === 0n) return 0;
  if (value > MAX_SAFE_BIGINT) throw invalidArgument(`${field} is too large`, field);
  return Number(value);
}

/** A Timestamp as epoch milliseconds. */
export function toMs(ts: Timestamp | undefined, field: string): number {
  if (!ts) return 0;
  const ms = timestampMs(ts);
  if (!Number.isSafeInteger(ms) || ms < 0) throw invalidArgument(`${field} is out of range`, field);
  return ms;
}

export function newMessage(m: PublishMessage): NewMessage {
  return {
    data: m.data,
    attributes: m.attributes,
    id: m.id,
    priority: m.priority,
    orderingKey: m.orderingKey,
    delayMs: toNumber(m.delayMs, "delay_ms"),
    ttlMs: toNumber(m.ttlMs, "ttl_ms"),
  };
}

/**
 * A Timestamp's init object for epoch milliseconds: the fields `timestampFromMs` gives, without
 * building the message (per delivered message; `create`, where one is needed, builds it, and the
 * lean encoder reads the init as it is).
 */
function timestampInit(ms: number): MessageInitShape<typeof TimestampSchema> {
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

export function message(m: StoredMessage): MessageInitShape<typeof MessageSchema> {
  return {
    topic: m.topic,
    seq: BigInt(m.seq),
    id: m.id,
    data: m.data,
    attributes: m.attributes,
    publishTime: timestampInit(m.publishTimeMs),
    priority: m.priority,
    orderingKey: m.orderingKey,
    deliverAt: m.deliverAtMs > 0 ? timestampInit(m.deliverAtMs) : undefined,
    expireAt: m.expireAtMs > 0 ? timestampInit(m.expireAtMs) : undefined,
  };
}

export function received(d: Delivery): MessageInitShape<typeof ReceivedMessageSchema> {
  return { ackId: d.ackId, message: message(d.message), deliveryAttempt: d.deliveryAttempt };
}

/**
 * What a Subscribe stream (or a Pull) answers: the deliveries, with the init objects of the
 * response made only when something reads `messages` (connect-node's own path and the in-process
 * clients, through `create`); the lean path's encoder reads `deliveries` (lean/delivery-encoder.ts).
 */
export class ReceivedDeliveries {
  private converted: ReturnType<typeof received>[] | undefined;

  constructor(readonly deliveries: readonly Delivery[]) {}

  /** The response's `messages` as init objects (made once, on first read). */
  get messages(): ReturnType<typeof received>[] {
    this.converted ??= this.deliveries.map(received);
    return this.converted;
  }
}

const DEDUP_SCOPES = { window: DedupScope.WINDOW, unacked: DedupScope.UNACKED } as const;
const OVERFLOWS = { reject: OverflowPolicy.REJECT, drop_oldest: OverflowPolicy.DROP_OLDEST } as const;

export function topic(t: TopicInfo): MessageInitShape<typeof TopicSchema> {
  return {
    name: t.name,
    queue: t.queue,
    dedupWindowMs: BigInt(t.dedupWindowMs),
    dedupScope: DEDUP_SCOPES[t.dedupScope],
    retainAckedMs: BigInt(t.retainAckedMs),
    maxMessages: BigInt(t.maxMessages),
    maxBytes: BigInt(t.maxBytes),
    maxAgeMs: BigInt(t.maxAgeMs),
    overflow: OVERFLOWS[t.overflow],
    createTime: timestampFromMs(t.createTimeMs),
  };
}

/** Topic settings from proto fields (zero values mean "default"). */
export function topicSettings(t: Omit<Topic, "$typeName" | "createTime">): Partial<TopicSettings> {
  return {
    queue: t.queue,
    dedupWindowMs: toNumber(t.dedupWindowMs, "dedup_window_ms"),
    dedupScope: t.dedupScope === DedupScope.UNACKED ? "unacked" : "window",
    retainAckedMs: toNumber(t.retainAckedMs, "retain_acked_ms"),
    maxMessages: toNumber(t.maxMessages, "max_messages"),
    maxBytes: toNumber(t.maxBytes, "max_bytes"),
    maxAgeMs: toNumber(t.maxAgeMs, "max_age_ms"),
    overflow: t.overflow === OverflowPolicy.DROP_OLDEST ? "drop_oldest" : "reject",
  };
}

function startPosition(s: ProtoStartPosition | undefined): StartPosition {
  switch (s?.at.case) {
    case "earliest":
      return { kind: "earliest" };
    case "seq":
      return { kind: "seq", seq: toNumber(s.at.value, "start.seq") };
    case "time":
      return { kind: "time", timeMs: toMs(s.at.value, "start.time") };
    default:
      return { kind: "latest" };
  }
}

function protoStart(s: StartPosition): MessageInitShape<typeof SubscriptionSchema>["start"] {
  switch (s.kind) {
    case "earliest":
      return { at: { case: "earliest", value: true } };
    case "seq":
      return { at: { case: "seq", value: BigInt(s.seq) } };
    case "time":
      return { at: { case: "time", value: timestampFromMs(s.timeMs) } };
    default:
      return { at: { case: "latest", value: true } };
  }
}

/** Subscription settings from a proto Subscription (zero values mean "default"). */
export function subscriptionSettings(s: Subscription): Partial<SubscriptionSettings> {
  return {
    name: s.name,
    topic: s.topic,
    ackDeadlineMs: toNumber(s.ackDeadlineMs, "ack_deadline_ms"),
    maxDeliveryAttempts: s.maxDeliveryAttempts,
    deadLetterTopic: s.deadLetterTopic,
    retry: {
      minBackoffMs: toNumber(s.retry?.minBackoffMs ?? 0n, "retry.min_backoff_ms"),
      maxBackoffMs: toNumber(s.retry?.maxBackoffMs ?? 0n, "retry.max_backoff_ms"),
    },
    start: startPosition(s.start),
    filter: s.filter,
    ordered: s.ordered,
    paused: s.paused,
    expireAfterIdleMs: toNumber(s.expireAfterIdleMs, "expire_after_idle_ms"),
    push: s.push
      ? {
          endpoint: s.push.endpoint,
          headers: s.push.headers,
          timeoutMs: toNumber(s.push.timeoutMs, "push.timeout_ms"),
          anyResponseIsSuccess: s.push.anyResponseIsSuccess,
          hmacSecret: s.push.hmacSecret,
          maxInFlight: s.push.maxInFlight,
          wrap: s.push.wrap,
          form: s.push.form,
          onlyServerErrorsFail: s.push.onlyServerErrorsFail,
        }
      : null,
  };
}

export function subscription(s: SubscriptionInfo): MessageInitShape<typeof SubscriptionSchema> {
  return {
    name: s.name,
    topic: s.topic,
    ackDeadlineMs: BigInt(s.ackDeadlineMs),
    maxDeliveryAttempts: s.maxDeliveryAttempts,
    deadLetterTopic: s.deadLetterTopic,
    retry: { minBackoffMs: BigInt(s.retry.minBackoffMs), maxBackoffMs: BigInt(s.retry.maxBackoffMs) },
    start: protoStart(s.start),
    filter: s.filter,
    ordered: s.ordered,
    paused: s.paused,
    expireAfterIdleMs: BigInt(s.expireAfterIdleMs),
    // The secret is write-only: a read says only whether one is set.
    push: s.push
      ? { ...s.push, timeoutMs: BigInt(s.push.timeoutMs), hmacSecret: "", hmacSecretSet: s.push.hmacSecret !== "" }
      : undefined,
    createTime: timestampFromMs(s.createTimeMs),
  };
}

/** Keeps only the fields named by an update mask (proto field names), as a domain patch. */
export function maskedPatch<T extends object>(
  full: T,
  paths: readonly string[],
  fields: Readonly<Record<string, keyof T>>,
): Partial<T> {
  if (paths.length === 0) throw invalidArgument("update_mask names no fields", "update_mask");
  const patch: Partial<T> = {};
  for (const path of paths) {
    const key = fields[path];
    if (key === undefined) throw invalidArgument(`update_mask: "${path}" cannot be updated`, "update_mask");
    patch[key] = full[key];
  }
  return patch;
}

/** Push delivery stats; times of 0 (none) stay unset. */
export function pushStats(p: PushStats): MessageInitShape<typeof PushStatsSchema> {
  return {
    lastStatus: p.lastStatus,
    consecutiveFailures: p.consecutiveFailures,
    nextAttemptTime: p.nextAttemptTimeMs > 0 ? timestampFromMs(p.nextAttemptTimeMs) : undefined,
    lastError: p.lastError,
    lastAttemptTime: p.lastAttemptTimeMs > 0 ? timestampFromMs(p.lastAttemptTimeMs) : undefined,
  };
}
