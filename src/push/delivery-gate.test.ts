/** The backoff gate of a push subscription and the stats it keeps, on a fake clock. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createFakeClock } from "../util/index.js";
import { DeliveryGate } from "./delivery-gate.js";

const RETRY = { minBackoffMs: 100, maxBackoffMs: 1_000 };

describe("push delivery gate", () => {
  it("failures close the gate for a doubling backoff; a success opens it and clears the count", () => {
    const clock = createFakeClock(1_000);
    const gate = new DeliveryGate(clock, () => 0);
    assert.ok(gate.closedForMs() <= 0, "open at first");
    gate.record(false, 500, "HTTP 500", RETRY);
    assert.equal(gate.closedForMs(), 100);
    assert.deepEqual(gate.stats(), {
      lastStatus: 500,
      consecutiveFailures: 1,
      nextAttemptTimeMs: 1_100,
      lastAttemptTimeMs: 1_000,
      lastError: "HTTP 500",
    });
    gate.record(false, 0, "ECONNREFUSED", RETRY);
    assert.equal(gate.closedForMs(), 200);
    clock.advance(200);
    assert.ok(gate.closedForMs() <= 0);
    assert.equal(gate.stats().nextAttemptTimeMs, 0, "no next attempt time once it has passed");
    gate.record(true, 204, "", RETRY);
    assert.deepEqual(gate.stats(), {
      lastStatus: 204,
      consecutiveFailures: 0,
      nextAttemptTimeMs: 0,
      lastAttemptTimeMs: 1_200,
      lastError: "",
    });
  });

  it("reset ends the backoff (a Seek); undeliverable and noted errors set no backoff", () => {
    const clock = createFakeClock(0);
    const gate = new DeliveryGate(clock, () => 0);
    gate.record(false, 503, "HTTP 503", RETRY);
    gate.reset();
    assert.ok(gate.closedForMs() <= 0);
    assert.equal(gate.stats().consecutiveFailures, 0);
    clock.advance(5);
    gate.recordUndeliverable("no target url");
    assert.ok(gate.closedForMs() <= 0);
    assert.deepEqual(
      { ...gate.stats() },
      { lastStatus: 0, consecutiveFailures: 0, nextAttemptTimeMs: 0, lastAttemptTimeMs: 5, lastError: "no target url" },
    );
    gate.noteError("endpoint host not allowed");
    assert.equal(gate.stats().lastError, "endpoint host not allowed");
    assert.equal(gate.stats().lastAttemptTimeMs, 5, "a noted error is no attempt");
  });
});
