/** A connection's read-ahead queue: order, counts and bytes through long runs of pushes and takes. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveOkqOptions } from "./context.js";
import { PendingInput } from "./pending-events.js";
import { ARG_OVERHEAD_BYTES } from "./resp-events.js";

describe("okq pending input", () => {
  it("pending - events leave in order, with length and bytes, across thousands of pushes and takes", () => {
    const input = { bytes: 0 };
    const pending = new PendingInput(resolveOkqOptions({}), input);
    const names = ["QACK", "qrpop", "QRPOP", "PING"];
    let pushed = 0;
    let taken = 0;
    let seed = 3;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    // Bursts longer than the slots the queue keeps taken at its front, and short ones.
    for (let round = 0; round < 200; round++) {
      const burst = next() % 700;
      for (let k = 0; k < burst; k++) {
        const id = Buffer.from(String(pushed++));
        pending.push({ type: "command", args: [Buffer.from(names[pushed % names.length] as string), id] });
      }
      const take = next() % (pending.length + 1);
      for (let k = 0; k < take; k++) {
        const e = pending.take();
        assert.equal(e.type, "command");
        if (e.type !== "command") return;
        assert.equal(e.args[1]?.toString(), String(taken), "first in, first out");
        assert.equal(e.name, (names[(taken + 1) % names.length] as string).toUpperCase());
        taken++;
      }
      assert.equal(pending.length, pushed - taken);
      const head = pending.peek();
      assert.equal(
        head?.type === "command" ? head.args[1]?.toString() : undefined,
        pushed > taken ? String(taken) : undefined,
      );
    }
    let bytes = 0;
    for (let k = taken; k < pushed; k++)
      bytes += 2 * ARG_OVERHEAD_BYTES + String(k).length + (names[(k + 1) % names.length] as string).length;
    assert.equal(input.bytes, bytes, "the bridge-wide count is what is still waiting");
    pending.drop();
    assert.equal(pending.length, 0);
    assert.equal(pending.peek(), undefined);
    assert.equal(input.bytes, 0);
  });
});
