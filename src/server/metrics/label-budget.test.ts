import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLabelBudget, OTHER_LABEL } from "./label-budget.js";

describe("metrics label budget", () => {
  it("metrics label budget - the first N values keep their label for good, later ones are other", () => {
    const b = createLabelBudget(2);
    assert.equal(b.label("a"), "a");
    assert.equal(b.label("b"), "b");
    assert.equal(b.label("c"), OTHER_LABEL);
    assert.equal(b.label("a"), "a");
    assert.equal(b.label("d"), OTHER_LABEL);
    assert.equal(createLabelBudget(0).label("a"), OTHER_LABEL);
  });
});
