import assert from "node:assert/strict";
import { test } from "node:test";
import { LiveCalls, type LiveLinks } from "./live-calls.js";

class Call implements LiveLinks {
  livePrev: LiveLinks | undefined = undefined;
  liveNext: LiveLinks | undefined = undefined;
  live = false;
  constructor(readonly name: string) {}
}

test("live calls - add and delete in any order, each once", () => {
  const calls = new LiveCalls<Call>();
  const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => new Call(n)) as [Call, Call, Call, Call];
  for (const call of [a, b, c, d]) calls.add(call);
  calls.add(b); // in already: nothing changes
  assert.equal(calls.size, 4);
  assert.deepEqual(
    calls.toArray().map((x) => x.name),
    ["d", "c", "b", "a"],
  );
  calls.delete(c); // the middle
  calls.delete(d); // the head
  calls.delete(a); // the tail
  calls.delete(a); // not in any more: nothing changes
  assert.equal(calls.size, 1);
  assert.deepEqual(
    calls.toArray().map((x) => x.name),
    ["b"],
  );
  calls.delete(b);
  assert.equal(calls.size, 0);
  assert.deepEqual(calls.toArray(), []);
  calls.add(a); // a call may come back
  assert.deepEqual(
    calls.toArray().map((x) => x.name),
    ["a"],
  );
  assert.equal(a.liveNext, undefined);
});
