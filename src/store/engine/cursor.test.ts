/** The cursor's bookkeeping of tracked entries (white box: the lane heaps' sizes). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SubscriptionRecord } from "../store.js";
import { Cursor } from "./cursor.js";
import type { Entry } from "./cursor-entry.js";
import type { MessageMeta } from "./message-codec.js";

const meta: MessageMeta = {
  size: 1,
  priority: 0,
  publishMs: 0,
  deliverAtMs: 0,
  expireAtMs: 0,
  id: "m1",
  onlyFor: 0,
  generatedId: false,
};

function readyEntry(seq: number): Entry {
  return { seq, lane: 0, state: "ready", attempts: 1, dueMs: 0, batch: undefined, meta, key: "", persisted: false };
}

describe("cursor", () => {
  it("a ready entry given back again and again keeps one copy in its lane's ready heap", () => {
    const cursor = new Cursor({ id: 1, ordered: false, filter: {} } as unknown as SubscriptionRecord, 1);
    const e = readyEntry(5);
    cursor.track(e);
    const ready = cursor.lanes[0]?.ready;
    assert.ok(ready);
    assert.equal(ready.size, 1);
    for (let i = 0; i < 1000; i++) cursor.move(e, "ready");
    assert.equal(ready.size, 1, "repeated nacks of an available message do not grow the heap");
    // Leaving ready and coming back adds a copy (the old one goes stale, popped on use).
    cursor.move(e, "delayed", 10);
    cursor.move(e, "ready");
    assert.equal(ready.size, 2);
  });
});
