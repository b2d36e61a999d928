/** Backoff of a push subscription whose RetryPolicy is unset: 100 ms doubling to 60 s (as Pub/Sub push). */
export const DEFAULT_PUSH_BACKOFF = Object.freeze({ minBackoffMs: 100, maxBackoffMs: 60_000 });

/**
 * How long a push subscription waits before its next attempt after `failures` consecutive
 * failures (≥ 1): exponential from the policy's minimum (doubling per failure) up to its
 * maximum, with jitter that takes up to half off ("equal jitter", never below the minimum), so many subscriptions failing
 * together do not retry in lockstep. An unset policy (both 0) uses {@link DEFAULT_PUSH_BACKOFF}.
 * `random` returns a number in [0, 1).
 */
export function pushBackoffMs(
  failures: number,
  retry: { minBackoffMs: number; maxBackoffMs: number },
  random: () => number,
): number {
  const policy = retry.minBackoffMs > 0 || retry.maxBackoffMs > 0 ? retry : DEFAULT_PUSH_BACKOFF;
  const min = Math.max(1, policy.minBackoffMs);
  const max = Math.max(min, policy.maxBackoffMs);
  const exponent = Math.min(Math.max(0, failures - 1), 40);
  const full = Math.min(max, min * 2 ** exponent);
  return Math.max(min, Math.round(full / 2 + (random() * full) / 2));
}
