import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { hasBackoff, jitterFraction, retryBackoffMs } from "./backoff.js";

const policy = { minBackoffMs: 100, maxBackoffMs: 10_000 };

describe("retry backoff", () => {
  it("backoff - an unset policy (both 0) means no wait", () => {
    const unset = { minBackoffMs: 0, maxBackoffMs: 0 };
    assert.equal(hasBackoff(unset), false);
    assert.equal(retryBackoffMs(unset, 1, 0.5), 0);
    assert.equal(retryBackoffMs(unset, 50, 0.99), 0);
    assert.equal(hasBackoff(policy), true);
  });

  it("backoff - without jitter it doubles from min per attempt", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((a) => retryBackoffMs(policy, a, 0)),
      [100, 200, 400, 800, 1600],
    );
  });

  it("backoff - is capped at max and stays there", () => {
    assert.equal(retryBackoffMs(policy, 7, 0), 6400);
    assert.equal(retryBackoffMs(policy, 8, 0), 10_000);
    assert.equal(retryBackoffMs(policy, 30, 0), 10_000);
  });

  it("backoff - huge attempt counts do not overflow (no NaN, no Infinity)", () => {
    for (const attempts of [1024, 1e6, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      for (const r of [0, 0.5, 0.999]) {
        const ms = retryBackoffMs(policy, attempts, r);
        assert.ok(Number.isFinite(ms), `attempts ${attempts}`);
        assert.ok(ms >= 5000 && ms <= 10_000, `attempts ${attempts}: ${ms}`);
      }
    }
  });

  it("backoff - jitter takes at most half of the step off and never leaves [min, max]", () => {
    for (let attempts = 1; attempts <= 20; attempts++) {
      const step = Math.min(10_000, 100 * 2 ** (attempts - 1));
      for (let i = 0; i < 50; i++) {
        const r = i / 50;
        const ms = retryBackoffMs(policy, attempts, r);
        assert.ok(ms <= step, `attempt ${attempts}, r ${r}: ${ms} > ${step}`);
        assert.ok(ms >= Math.max(100, step / 2) - 0.5, `attempt ${attempts}, r ${r}: ${ms}`);
        assert.ok(ms >= 100 && ms <= 10_000);
        assert.equal(Number.isInteger(ms), true);
      }
    }
    // The first retry has nothing above min to jitter.
    assert.equal(retryBackoffMs(policy, 1, 0.99), 100);
    // Later: the upper half of the step.
    assert.equal(retryBackoffMs(policy, 4, 0.5), 600);
  });

  it("backoff - out-of-range random inputs are clamped", () => {
    assert.equal(retryBackoffMs(policy, 3, -1), 400);
    assert.equal(retryBackoffMs(policy, 3, 7), 200);
    assert.equal(retryBackoffMs(policy, 3, Number.NaN), 400);
  });

  it("backoff - min equal to max is a fixed delay", () => {
    const fixed = { minBackoffMs: 250, maxBackoffMs: 250 };
    for (const a of [1, 2, 10]) assert.equal(retryBackoffMs(fixed, a, 0.7), 250);
  });

  it("jitter - deterministic per input, in [0, 1), and spread over inputs", () => {
    assert.equal(jitterFraction(1, 2, 3), jitterFraction(1, 2, 3));
    assert.notEqual(jitterFraction(1, 2, 3), jitterFraction(1, 3, 2));
    assert.notEqual(jitterFraction(1, 2 ** 40, 1), jitterFraction(1, 2 ** 41, 1));
    const buckets = new Array(10).fill(0) as number[];
    for (let seq = 1; seq <= 10_000; seq++) {
      const f = jitterFraction(7, seq, 2);
      assert.ok(f >= 0 && f < 1);
      buckets[Math.floor(f * 10)] = (buckets[Math.floor(f * 10)] as number) + 1;
    }
    for (const n of buckets) assert.ok(n > 700 && n < 1300, `bucket ${n}`);
  });
});
