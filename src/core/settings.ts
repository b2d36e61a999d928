import { invalidArgument } from "../errors/index.js";
import type { SubscriptionSettings, TopicSettings } from "../model/index.js";
import type { CreateTopicSpec } from "./broker.js";
import type { BrokerLimits } from "./limits.js";
import { pushSettings } from "./push-settings.js";
import { retryAndDeadLetterSettings } from "./retry-settings.js";
import { validateName, validateRange } from "./validate.js";

const WEEK_MS = 7 * 24 * 3600 * 1000;
const YEAR_MS = 365 * 24 * 3600 * 1000;
/** Most entries in a subscription's attribute filter, and the longest key and value (UTF-8 bytes). */
const MAX_FILTER_ENTRIES = 32;
const MAX_FILTER_KEY_BYTES = 256;
const MAX_FILTER_VALUE_BYTES = 1024;

/** An attribute filter: every entry must match exactly; bounded so it fits the fan-out index. */
function validateFilter(filter: Record<string, string>): void {
  const entries = Object.entries(filter);
  if (entries.length > MAX_FILTER_ENTRIES) {
    throw invalidArgument(`a filter has at most ${MAX_FILTER_ENTRIES} entries, got ${entries.length}`, "filter");
  }
  for (const [key, value] of entries) {
    if (key === "" || Buffer.byteLength(key) > MAX_FILTER_KEY_BYTES) {
      throw invalidArgument(`filter keys are 1..${MAX_FILTER_KEY_BYTES} bytes`, "filter");
    }
    if (Buffer.byteLength(value) > MAX_FILTER_VALUE_BYTES) {
      throw invalidArgument(`filter values are at most ${MAX_FILTER_VALUE_BYTES} bytes`, "filter");
    }
  }
}

/** Fills in defaults and validates topic settings. */
export function topicSettings(spec: Partial<TopicSettings> & { name: string }, limits: BrokerLimits): TopicSettings {
  validateName("topic", spec.name);
  const s: TopicSettings = {
    name: spec.name,
    queue: spec.queue ?? false,
    dedupWindowMs: spec.dedupWindowMs || limits.defaultDedupWindowMs,
    dedupScope: spec.dedupScope ?? "window",
    retainAckedMs: spec.retainAckedMs ?? 0,
    maxMessages: spec.maxMessages ?? 0,
    maxBytes: spec.maxBytes ?? 0,
    maxAgeMs: spec.maxAgeMs ?? 0,
    overflow: spec.overflow ?? "reject",
  };
  validateRange("dedup_window_ms", s.dedupWindowMs, 1, WEEK_MS);
  validateRetention(s);
  return s;
}

/** Longest `retain_acked_ms` and `max_age_ms`: one year. */
const MAX_RETENTION_MS = 365 * 24 * 3600 * 1000;

/** Retention and limits: ranges, and an overflow policy the store knows. */
function validateRetention(s: TopicSettings): void {
  validateRange("retain_acked_ms", s.retainAckedMs, 0, MAX_RETENTION_MS);
  validateRange("max_age_ms", s.maxAgeMs, 0, MAX_RETENTION_MS);
  validateRange("max_messages", s.maxMessages, 0, Number.MAX_SAFE_INTEGER);
  validateRange("max_bytes", s.maxBytes, 0, Number.MAX_SAFE_INTEGER);
  if (s.overflow !== "reject" && s.overflow !== "drop_oldest") {
    throw invalidArgument(`overflow must be reject or drop_oldest, got ${String(s.overflow)}`, "overflow");
  }
}

/** Fills in defaults and validates subscription settings. */
export function subscriptionSettings(
  spec: Partial<SubscriptionSettings> & { name: string; topic: string },
  limits: BrokerLimits,
): SubscriptionSettings {
  validateName("subscription", spec.name);
  validateName("topic", spec.topic);
  const s: SubscriptionSettings = {
    name: spec.name,
    topic: spec.topic,
    ackDeadlineMs: spec.ackDeadlineMs || limits.defaultAckDeadlineMs,
    maxDeliveryAttempts: spec.maxDeliveryAttempts ?? 0,
    deadLetterTopic: spec.deadLetterTopic ?? "",
    retry: spec.retry ?? { minBackoffMs: 0, maxBackoffMs: 0 },
    start: spec.start ?? { kind: "latest" },
    filter: spec.filter ?? {},
    ordered: spec.ordered ?? false,
    paused: spec.paused ?? false,
    expireAfterIdleMs: spec.expireAfterIdleMs ?? 0,
    push: spec.push ?? null,
  };
  validateRange("ack_deadline_ms", s.ackDeadlineMs, 1, limits.maxAckDeadlineMs);
  if (s.start.kind === "seq") validateRange("start.seq", s.start.seq, 1, Number.MAX_SAFE_INTEGER);
  if (s.start.kind === "time") validateRange("start.time", s.start.timeMs, 0, Number.MAX_SAFE_INTEGER);
  validateFilter(s.filter);
  if (s.expireAfterIdleMs > 0) validateRange("expire_after_idle_ms", s.expireAfterIdleMs, 1, YEAR_MS);
  retryAndDeadLetterSettings(s);
  // Delivery features that a later release implements; refuse rather than ignore them.
  if (s.push) s.push = pushSettings(s.push, limits);
  return s;
}

/** The settings of a queue's same-name subscription. */
export function queueSubscriptionSettings(spec: CreateTopicSpec, limits: BrokerLimits): SubscriptionSettings {
  return subscriptionSettings({ ...spec.queueSubscription, name: spec.name, topic: spec.name }, limits);
}
