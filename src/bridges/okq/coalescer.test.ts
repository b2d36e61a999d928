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

  it("coalescer - with maxInFlight a key's batch waits for a running call; an idle key goes at once", async () => {
    const calls: string[][] = [];
    const gates: (() => void)[] = [];
    const c = createCoalescer(
      (key: string, items: readonly string[]) => {
        calls.push([key, ...items]);
        return new Promise<string[]>((resolve) => gates.push(() => resolve(items.map((i) => `${key}:${i}`))));
      },
      3,
      undefined,
      undefined,
      1,
    );
    const turn = () => new Promise((r) => setImmediate(r));
    const first = c("q", ["1"]);
    await turn();
    assert.deepEqual(calls, [["q", "1"]], "an idle key's call goes in its own turn");
    const second = c("q", ["2"]);
    const third = c("q", ["3"]);
    const other = c("r", ["x"]);
    await turn();
    await turn();
    assert.deepEqual(
      calls,
      [
        ["q", "1"],
        ["r", "x"],
      ],
      "q waits for its running call; r has none",
    );
    (gates.shift() as () => void)();
    assert.deepEqual(await first, ["q:1"]);
    await turn();
    assert.deepEqual(calls[2], ["q", "2", "3"], "the waiting batch goes, as one call, when the running one ends");
    const full = [c("q", ["4", "5"]), c("q", ["6", "7"])];
    assert.deepEqual(calls[3], ["q", "4", "5"], "a batch that is full goes even past the bound");
    for (const g of gates.splice(0)) g();
    assert.deepEqual(await Promise.all([second, third, other]), [["q:2"], ["q:3"], ["r:x"]]);
    await turn();
    for (const g of gates.splice(0)) g();
    assert.deepEqual(await Promise.all(full), [
      ["q:4", "q:5"],
      ["q:6", "q:7"],
    ]);
  });

  it("coalescer - a call that fails still frees its key for the next batch", async () => {
    let calls = 0;
    const c = createCoalescer(
      async (_key: string, items: readonly number[]) => {
        calls++;
        if (items[0] === -1) throw new Error("bad item");
        return items.map((i) => i * 2);
      },
      100,
      undefined,
      undefined,
      1,
    );
    await assert.rejects(c("q", [-1]), /bad item/);
    assert.deepEqual(await c("q", [2]), [4]);
    assert.equal(calls, 2);
  });
});
