import { invalidArgument } from "../errors/index.js";
import type { SubscriptionSettings } from "../model/index.js";
import { validateName, validateRange } from "./validate.js";

/** Longest retry backoff a subscription may ask for: one hour. */
export const MAX_BACKOFF_MS = 3_600_000;
/** `max_backoff_ms` when only a minimum is given: 10 minutes (as Pub/Sub), or the minimum if larger. */
export const DEFAULT_MAX_BACKOFF_MS = 600_000;
/** Most delivery attempts a subscription may allow before dead-lettering. */
export const MAX_DELIVERY_ATTEMPTS = 1000;
/** `max_delivery_attempts` when a dead-letter topic is set without one (as Pub/Sub). */
export const DEFAULT_DEAD_LETTER_ATTEMPTS = 5;

/**
 * Validates the retry policy, `max_delivery_attempts` and `dead_letter_topic` of subscription
 * settings, filling in defaults in place. Whether the dead-letter topic exists is checked by the
 * caller against the store (create/update), not here.
 */
export function retryAndDeadLetterSettings(s: SubscriptionSettings): void {
  const { minBackoffMs, maxBackoffMs } = s.retry;
  if (minBackoffMs !== 0 || maxBackoffMs !== 0) {
    validateRange("retry.min_backoff_ms", minBackoffMs, 1, MAX_BACKOFF_MS);
    const max = maxBackoffMs || Math.max(minBackoffMs, DEFAULT_MAX_BACKOFF_MS);
    validateRange("retry.max_backoff_ms", max, minBackoffMs, MAX_BACKOFF_MS);
    s.retry = { minBackoffMs, maxBackoffMs: max };
  }
  validateRange("max_delivery_attempts", s.maxDeliveryAttempts, 0, MAX_DELIVERY_ATTEMPTS);
  if (s.deadLetterTopic === "") return;
  validateName("dead_letter_topic", s.deadLetterTopic);
  if (s.deadLetterTopic === s.topic) {
    throw invalidArgument("dead_letter_topic must not be the subscription's own topic", "dead_letter_topic");
  }
  if (s.maxDeliveryAttempts === 0) s.maxDeliveryAttempts = DEFAULT_DEAD_LETTER_ATTEMPTS;
}
