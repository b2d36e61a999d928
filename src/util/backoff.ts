/**
 * Retry backoff of a subscription (RetryPolicy in proto/switchyard/v1/types.proto): exponential from `minBackoffMs` to
 * `maxBackoffMs`, with jitter. The one backoff function of the broker: the store engine uses it
 * for expired leases and for nacks without a delay, push delivery for failed requests.
 */

/** A subscription's retry policy; both 0: no backoff (redeliver at once). */
export interface RetryPolicy {
  minBackoffMs: number;
  maxBackoffMs: number;
}

/** True when the policy asks for a backoff at all (unset, both 0: redeliver at once). */
export function hasBackoff(policy: RetryPolicy): boolean {
  return policy.minBackoffMs > 0 || policy.maxBackoffMs > 0;
}

/**
 * How long to wait before the next delivery after `attempts` failed deliveries (1 after the
 * first). The un-jittered step is `min × 2^(attempts-1)`, capped at `max`; jitter takes up to half
 * of it off (`random` in [0, 1): 0 none, → 1 half), and the result never leaves [min, max]. So
 * the first retry waits exactly `min`, later ones spread over the upper half of their step, and
 * huge attempt counts stay at the cap (no overflow: the power saturates to Infinity, then min()).
 * Returns a whole number of milliseconds; 0 when the policy is unset.
 */
export function retryBackoffMs(policy: RetryPolicy, attempts: number, random: number): number {
  if (!hasBackoff(policy)) return 0;
  const min = Math.max(0, policy.minBackoffMs);
  const max = Math.max(min, policy.maxBackoffMs);
  const exponent = Math.max(0, Math.floor(attempts) - 1);
  const step = Math.min(max, min * 2 ** exponent);
  const r = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 0;
  const jittered = step * (1 - r / 2);
  return Math.round(Math.min(max, Math.max(min, jittered)));
}

/**
 * A deterministic jitter fraction in [0, 1) from a few integers (e.g. subscription id, seq and
 * attempt): spreads the retries of different messages apart, while a test can compute the exact
 * value. Not cryptographic: an integer hash (a 32-bit mix of each input, FNV-style).
 */
export function jitterFraction(...keys: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const k of keys) {
    // Both 32-bit halves, so seqs past 2^32 still change the hash.
    const lo = k >>> 0;
    const hi = Math.floor(k / 0x1_0000_0000) >>> 0;
    for (const part of [lo, hi]) {
      h = Math.imul(h ^ part, 0x01000193);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
    }
  }
  return (h >>> 0) / 0x1_0000_0000;
}
