/**
 * A cursor's acked ranges stay compact while one message holds its floor (issue 13, point 2).
 * A scan steps over seqs it does not take (filtered out, another lane's, gone); they are settled
 * as it goes, so later acks merge with them into one range instead of opening a range each, and
 * each write puts only the ranges that changed. And repeated lease extensions do not grow the
 * lease-expiry heap beyond the leases in flight.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Cursor } from "../../src/store/engine/cursor.js";
import { Table } from "../../src/store/engine/keys.js";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { EngineState } from "../../src/store/engine/state.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import { createQueue, lease, rec, subSettings, T0, tokensOf, topicSettings } from "./conformance/helpers.js";

/** Stored AckRange keys in all. */
function storedRanges(data: MemoryKvData): number {
  return data.keys.filter((k) => k.charCodeAt(0) === Table.AckRange).length;
}

/** The engine's cursor of a subscription (white box: the heap is not part of the Store API). */
function cursorOf(store: KvStore, name: string): Cursor {
  return (store as unknown as { state: EngineState }).state.requireCursor(name);
}

it("range growth - a held message and 10,000 later acks on a filtered subscription leave O(1) ranges", async () => {
  const data = createMemoryKvData();
  const store = new KvStore(new MemoryKv(data));
  try {
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("f", "t", { filter: { k: "1" } }), T0);
    // The first message is leased for a long time and never acked: it holds the floor.
    await store.append("t", [rec("held", { attributes: { k: "1" } })], T0);
    const [held] = await store.lease("f", { max: 1, leaseMs: 3_600_000, nowMs: T0, autoAck: false });
    assert.equal(held?.message.id, "held");

    for (let round = 0; round < 20; round++) {
      // 1,000 messages, every other one filtered out, then their 500 deliveries acked.
      const batch = Array.from({ length: 1000 }, (_, i) => rec("", { attributes: { k: String(i % 2) } }));
      await store.append("t", batch, T0);
      for (;;) {
        const got = await lease(store, "f", 100, T0);
        if (got.length === 0) break;
        const outcomes = await store.ack("f", { tokens: tokensOf(got), messageIds: [] }, T0);
        assert.ok(outcomes.every((o) => o === "ok"));
      }
    }
    assert.equal((await store.subscriptionCounters("f")).unacked, 1, "only the held message");
    const lanes = cursorOf(store, "f").lanes;
    const inMemory = lanes.reduce((n, l) => n + l.ranges.count, 0);
    assert.ok(inMemory <= 2, `ranges in memory: ${inMemory}`);
    assert.ok(storedRanges(data) <= 2, `ranges stored: ${storedRanges(data)}`);
  } finally {
    await store.close();
  }
  // After a restart the floor and the one range say the same.
  const reopened = new KvStore(new MemoryKv(data));
  try {
    assert.equal((await reopened.subscriptionCounters("f")).unacked, 1);
    const again = await lease(reopened, "f", 10, T0 + 1);
    assert.deepEqual(
      again.map((r) => r.message.id),
      ["held"],
      "only the held message comes again",
    );
  } finally {
    await reopened.close();
  }
});

it("range growth - priority lanes step over the other lanes' seqs", async () => {
  const data = createMemoryKvData();
  const store = new KvStore(new MemoryKv(data));
  try {
    await createQueue(store, "q");
    await store.append("q", [rec("held", { priority: 1 })], T0);
    assert.equal((await lease(store, "q", 1, T0, 3_600_000))[0]?.message.id, "held");
    for (let round = 0; round < 10; round++) {
      // Priorities 1 and 0 interleaved: lane 1's seqs have gaps that are lane 0's.
      await store.append(
        "q",
        Array.from({ length: 200 }, (_, i) => rec("", { priority: i % 2 })),
        T0,
      );
      for (;;) {
        const got = await lease(store, "q", 50, T0);
        if (got.length === 0) break;
        await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
      }
    }
    const inMemory = cursorOf(store, "q").lanes.reduce((n, l) => n + l.ranges.count, 0);
    assert.ok(inMemory <= 2, `ranges in memory: ${inMemory}`);
    assert.ok(storedRanges(data) <= 2, `ranges stored: ${storedRanges(data)}`);
  } finally {
    await store.close();
  }
});

it("lease heap - 10,000 extensions of 10 leases keep the expiry heap bounded", async () => {
  const store = new KvStore(new MemoryKv());
  try {
    await createQueue(store, "q");
    await store.append(
      "q",
      Array.from({ length: 10 }, (_, i) => rec(`m${i}`)),
      T0,
    );
    const leased = await lease(store, "q", 10, T0, 60_000);
    assert.equal(leased.length, 10);
    const c = cursorOf(store, "q");
    for (let i = 1; i <= 1000; i++) {
      const outcomes = await store.extend("q", tokensOf(leased), T0 + 60_000 + i * 1000, T0);
      assert.ok(outcomes.every((o) => o === "ok"));
    }
    assert.ok(c.batches.size <= 2 * 10 + 64 + 1, `heap entries: ${c.batches.size}`);
    // The leases still end at their last deadline, not at an earlier superseded one.
    const lastDeadline = T0 + 60_000 + 1000 * 1000;
    assert.deepEqual(await lease(store, "q", 10, lastDeadline - 1), []);
    assert.equal((await lease(store, "q", 10, lastDeadline + 1)).length, 10);
  } finally {
    await store.close();
  }
});
