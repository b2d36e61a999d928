import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLabelBudget, FOLDED_LABEL } from "./label-budget.js";

describe("metrics label budget", () => {
  it("metrics label budget - the first N values keep their label for good, later ones fold into an empty one", () => {
    const b = createLabelBudget(2);
    assert.equal(b.label("a"), "a");
    assert.equal(b.label("b"), "b");
    assert.equal(b.label("c"), FOLDED_LABEL);
    assert.equal(b.label("a"), "a");
    assert.equal(b.label("d"), FOLDED_LABEL);
    assert.equal(createLabelBudget(0).label("a"), FOLDED_LABEL);
    assert.equal(FOLDED_LABEL, "", "no topic or subscription name is empty");
    assert.equal(createLabelBudget(1).label("other"), "other", "a real topic named other keeps its name");
  });
});
