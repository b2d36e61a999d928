import { hasBackoff, type RetryPolicy, retryBackoffMs } from "../util/backoff.js";

/** Backoff of a push subscription whose RetryPolicy is unset: 100 ms doubling to 60 s (as Pub/Sub push). */
export const DEFAULT_PUSH_BACKOFF: Readonly<RetryPolicy> = Object.freeze({ minBackoffMs: 100, maxBackoffMs: 60_000 });

/**
 * How long a push subscription waits before its next attempt after `failures` consecutive
 * failures (≥ 1): the broker's one retry backoff ({@link retryBackoffMs}: exponential from the
 * policy's minimum, doubling per failure up to its maximum, jitter taking up to half a step off,
 * never below the minimum), so many subscriptions failing together do not retry in lockstep.
 * A push subscription never retries in a hot loop: an unset policy (both 0) uses
 * {@link DEFAULT_PUSH_BACKOFF}. `random` returns a number in [0, 1).
 */
export function pushBackoffMs(failures: number, retry: RetryPolicy, random: () => number): number {
  return retryBackoffMs(hasBackoff(retry) ? retry : DEFAULT_PUSH_BACKOFF, failures, random());
}
