/** The engine's min-heap: pops in key order, and `retain` keeps a valid heap of what it keeps. */
import assert from "node:assert/strict";
import { it } from "node:test";
import fc from "fast-check";
import { MinHeap } from "../../src/store/engine/min-heap.js";

function drain(heap: MinHeap<number>): number[] {
  const out: number[] = [];
  for (let v = heap.pop(); v !== undefined; v = heap.pop()) out.push(v);
  return out;
}

it("min-heap - pops every item in key order, after any pushes, pops and retains", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 50 })),
      fc.nat({ max: 20 }),
      fc.integer({ min: 0, max: 50 }),
      (keys, popFirst, keepBelow) => {
        const heap = new MinHeap<number>();
        for (const k of keys) heap.push(k, k);
        const sorted = [...keys].sort((a, b) => a - b);
        const popped: number[] = [];
        for (let i = 0; i < popFirst && heap.size > 0; i++) popped.push(heap.pop() as number);
        assert.deepEqual(popped, sorted.slice(0, popped.length));
        heap.retain((_item, key) => key < keepBelow);
        assert.deepEqual(
          drain(heap),
          sorted.slice(popped.length).filter((k) => k < keepBelow),
        );
        assert.equal(heap.size, 0);
      },
    ),
  );
});
