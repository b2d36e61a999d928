import assert from "node:assert/strict";
import { it } from "node:test";
import { createByteBudget } from "./byte-budget.js";

it("byte budget - takes what fits, refuses what does not, and gets bytes back", () => {
  const budget = createByteBudget(100);
  assert.equal(budget.tryTake(60), true);
  assert.equal(budget.tryTake(41), false, "over the limit: nothing taken");
  assert.equal(budget.used(), 60);
  assert.equal(budget.tryTake(40), true);
  budget.release(100);
  assert.equal(budget.used(), 0);
  budget.release(5);
  assert.equal(budget.used(), 0, "never below zero");
});
