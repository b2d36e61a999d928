/** The cross-connection coalescer: one call per key per loop turn, own results, failures isolated. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createCoalescer } from "./coalescer.js";

describe("okq coalescer", () => {
  it("coalescer - calls of one turn with one key become one call; each caller gets its own slice", async () => {
    const calls: string[][] = [];
    const c = createCoalescer(async (key: string, items: readonly string[]) => {
      calls.push([key, ...items]);
      return items.map((i) => `${key}:${i}`);
    }, 100);
    const [a, b, other] = await Promise.all([c("q", ["1", "2"]), c("q", ["3"]), c("r", ["x"])]);
    assert.deepEqual(a, ["q:1", "q:2"]);
    assert.deepEqual(b, ["q:3"]);
    assert.deepEqual(other, ["r:x"]);
    assert.deepEqual(calls, [
      ["q", "1", "2", "3"],
      ["r", "x"],
    ]);
  });

  it("coalescer - a merged call that fails is repeated per caller, so only the bad one fails", async () => {
    let calls = 0;
    const c = createCoalescer(async (_key: string, items: readonly number[]) => {
      calls++;
      if (items.includes(-1)) throw new Error("bad item");
      return items.map((i) => i * 2);
    }, 100);
    const good = c("q", [1, 2]);
    const bad = c("q", [-1]);
    assert.deepEqual(await good, [2, 4]);
    await assert.rejects(bad, /bad item/);
    assert.equal(calls, 3, "one merged call, then one per caller");
  });

  it("coalescer - never more than maxItems or maxWeight per call, and a caller's items stay together", async () => {
    const sizes: number[] = [];
    const c = createCoalescer(
      async (_key: string, items: readonly number[]) => {
        sizes.push(items.length);
        return [...items];
      },
      3,
      (i) => i,
      10,
    );
    const got = await Promise.all([c("q", [1, 1]), c("q", [1, 1]), c("q", [9]), c("q", [1])]);
    assert.deepEqual(got, [[1, 1], [1, 1], [9], [1]]);
    // [1,1] | [1,1] (4 items > 3) | [9,1] (weight 2 + 9 > 10 flushed the second; 9 + 1 = 10 fits)
    assert.deepEqual(sizes, [2, 2, 2]);
  });
});
