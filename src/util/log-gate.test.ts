import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogGate } from "./log-gate.js";

describe("log gate", () => {
  it("gate - one line per interval, then how many were held back", () => {
    let now = 0;
    const gate = createLogGate(1_000, () => now);
    assert.equal(gate(), 0);
    assert.equal(gate(), undefined);
    now = 999;
    assert.equal(gate(), undefined);
    now = 1_000;
    assert.equal(gate(), 2);
    assert.equal(gate(), undefined);
    now = 5_000;
    assert.equal(gate(), 1);
  });
});
