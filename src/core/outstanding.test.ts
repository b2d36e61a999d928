/**
 * The flow-control window of a Subscribe stream on its own, with a fake clock: what it holds
 * (count and bytes), what frees it (ack ids, message ids, lease deadlines, moved deadlines,
 * taking everything).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Delivery } from "../model/index.js";
import { createFakeClock } from "../util/index.js";
import { Outstanding } from "./outstanding.js";

function delivery(n: number, bytes = 100): Delivery {
  return {
    ackId: `a${n}`,
    deliveryAttempt: 1,
    message: {
      topic: "t",
      seq: n,
      id: `m${n}`,
      data: new Uint8Array(bytes),
      attributes: {},
      publishTimeMs: 0,
      priority: 0,
      orderingKey: "",
      deliverAtMs: 0,
      expireAtMs: 0,
    },
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => delivery(from + i));

describe("outstanding window", () => {
  it("counts messages and bytes, frees them by ack id and by message id", () => {
    const clock = createFakeClock();
    const w = new Outstanding("s", 10, 1000, clock, 1_000_000);
    assert.equal(w.room(), 1, "empty, nothing seen yet: one message of any size");
    w.add(range(1, 4), clock.now() + 30_000);
    assert.equal(w.size, 4);
    assert.equal(w.roomBytes(), 600);
    assert.equal(w.room(), 6, "by bytes: 600 more of the largest seen (100)");
    assert.equal(w.release(["a1", "a1", "nope"], []), 1, "each held id once");
    assert.equal(w.release([], ["m3", "m9"]), 1);
    assert.equal(w.size, 2);
    assert.equal(w.roomBytes(), 800);
    assert.deepEqual(w.takeAll().sort(), ["a2", "a4"]);
    assert.equal(w.size, 0);
    assert.equal(w.roomBytes(), 1000);
    assert.equal(w.earliestDeadlineMs, Number.POSITIVE_INFINITY);
  });

  it("drops what its lease deadline passed, and moved deadlines count instead", () => {
    const clock = createFakeClock();
    const t0 = clock.now();
    const w = new Outstanding("s", 100, 1_000_000, clock, 1_000_000);
    w.add(range(1, 3), t0 + 1000);
    w.add(range(4, 6), t0 + 2000);
    assert.equal(w.earliestDeadlineMs, t0 + 1000);
    assert.equal(w.extend(["a1", "a4", "gone"], t0 + 5000), 2, "later");
    assert.equal(w.extend(["a5"], t0 + 500), 1, "sooner");
    assert.equal(w.earliestDeadlineMs, t0 + 500);
    clock.advance(500);
    w.room();
    assert.equal(w.size, 5, "a5's moved deadline passed");
    assert.equal(w.earliestDeadlineMs, t0 + 1000);
    clock.advance(500);
    w.room();
    assert.equal(w.size, 3, "a2 and a3 ended; a1 was moved to t0 + 5000");
    clock.advance(1000);
    w.room();
    assert.equal(w.size, 2, "a1 and a4 were moved; a6 ended");
    assert.equal(w.earliestDeadlineMs, t0 + 5000);
    assert.equal(w.extend(["a1"], t0 + 9000), 1, "moved twice");
    clock.advance(3000);
    w.room();
    assert.equal(w.size, 1, "a4's moved deadline passed; a1's first move no longer counts");
    assert.equal(w.release([], ["m1"]), 1, "found by message id after moves");
    assert.equal(w.size, 0);
    clock.advance(10_000);
    w.room();
    assert.equal(w.earliestDeadlineMs, Number.POSITIVE_INFINITY);
  });
});
