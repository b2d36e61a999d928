import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BROKER_HEAP_GROWING_PERCENT, heapGrowingFlag } from "./heap-growth.js";

describe("heapGrowingFlag", () => {
  it("sets the broker's growth when node was given none", () => {
    assert.equal(heapGrowingFlag([], undefined), `--heap-growing-percent=${BROKER_HEAP_GROWING_PERCENT}`);
    assert.equal(
      heapGrowingFlag(["--enable-source-maps", "--heap-growing"], "--max-old-space-size=512"),
      `--heap-growing-percent=${BROKER_HEAP_GROWING_PERCENT}`,
    );
  });

  it("leaves an operator's value alone, in node's arguments or NODE_OPTIONS, in either spelling", () => {
    assert.equal(heapGrowingFlag(["--heap-growing-percent=0"], undefined), null);
    assert.equal(heapGrowingFlag(["--heap_growing_percent", "200"], undefined), null);
    assert.equal(heapGrowingFlag([], " --max-old-space-size=512  --heap-growing-percent=80"), null);
  });
});
