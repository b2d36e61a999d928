/** RangeSet.removeRange and at (range-set.ts), checked against a plain set of seqs. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RangeSet } from "./range-set.js";

function seqs(r: RangeSet): number[] {
  return r.entries().flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
}

describe("RangeSet", () => {
  it("range set - removeRange cuts, splits and drops ranges, and notes every start it changed", () => {
    const r = new RangeSet();
    r.addRange(1, 5);
    r.addRange(10, 20);
    r.addRange(30, 31);
    r.takeChanged();
    r.removeRange(12, 14); // split
    assert.deepEqual(r.entries(), [
      [1, 5],
      [10, 11],
      [15, 20],
      [30, 31],
    ]);
    assert.deepEqual(
      [...r.takeChanged()].sort((a, b) => a - b),
      [10, 15],
    );
    r.removeRange(4, 30); // cuts [1,5] and [30,31], drops the two between
    assert.deepEqual(r.entries(), [
      [1, 3],
      [31, 31],
    ]);
    assert.deepEqual(
      [...r.takeChanged()].sort((a, b) => a - b),
      [1, 10, 15, 30, 31],
    );
    r.removeRange(6, 25); // nothing there
    assert.equal(r.takeChanged().size, 0);
    r.removeRange(1, 3);
    assert.deepEqual(r.entries(), [[31, 31]]);
    assert.deepEqual(r.at(0), [31, 31]);
    assert.equal(r.at(1), undefined);
  });

  it("range set - removeRange matches a plain set over random adds and removes", () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const r = new RangeSet();
      const model = new Set<number>();
      for (let op = 0; op < 30; op++) {
        const a = rand(60);
        const b = a + rand(8);
        if (rand(3) === 0) {
          r.removeRange(a, b);
          for (let s = a; s <= b; s++) model.delete(s);
        } else {
          r.addRange(a, b);
          for (let s = a; s <= b; s++) model.add(s);
        }
        assert.deepEqual(
          seqs(r),
          [...model].sort((x, y) => x - y),
        );
        const e = r.entries();
        for (let i = 1; i < e.length; i++)
          assert.ok(
            ((e[i] as number[])[0] as number) > ((e[i - 1] as number[])[1] as number) + 1,
            "disjoint, not adjacent",
          );
      }
    }
  });
});
