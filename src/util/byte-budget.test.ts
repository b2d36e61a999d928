import assert from "node:assert/strict";
import { it } from "node:test";
import { createByteBudget, sharePerPeer } from "./byte-budget.js";

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

it("byte budget - a client holds at most its share; others still fit, and bytes go back to both", () => {
  const shared = sharePerPeer(createByteBudget(100), 60);
  const a = shared.forPeer("10.0.0.1");
  const aAgain = shared.forPeer("::ffff:10.0.0.1");
  const b = shared.forPeer("10.0.0.2");
  assert.equal(a.tryTake(50), true);
  assert.equal(aAgain.tryTake(20), false, "the same client, another connection: over its share");
  assert.equal(shared.total.used(), 50, "a refused take takes nothing");
  assert.equal(b.tryTake(50), true, "another client still fits");
  assert.equal(b.tryTake(1), false, "the shared budget is full");
  a.release(50);
  assert.equal(a.used(), 0);
  assert.equal(shared.total.used(), 50);
  assert.equal(b.tryTake(10), true);
  b.release(1000);
  assert.equal(shared.total.used(), 0, "a client gives back only what it holds");
});

it("byte budget - an IPv6 client's share is its /64", () => {
  const shared = sharePerPeer(createByteBudget(100), 60);
  assert.equal(shared.forPeer("2001:db8::1").tryTake(60), true);
  assert.equal(shared.forPeer("2001:db8::2").tryTake(1), false, "another address of the same /64");
  assert.equal(shared.forPeer("2001:db8:0:1::1").tryTake(40), true, "another /64");
});
