/**
 * A delivery attempt never goes backwards after a crash (issue 13, point 2). When a lease
 * expires, the failed attempt is recorded in memory; a lease that hands the message out again
 * (attempt N+1) must not be answered before attempt N is on disk, or a crash right after it
 * delivers the message as attempt N again (and max_delivery_attempts can be passed by one).
 * The crash is a second store opened on the same committed data while the first is still open
 * (nothing it holds in memory, no deferred flush, reaches the second).
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import { attemptsOf, createQueue, lease, recs, T0 } from "./conformance/helpers.js";

/** A store on the committed state of `data`, as a restart after a crash would find it. */
function afterCrash(data: MemoryKvData): KvStore {
  return new KvStore(new MemoryKv({ keys: [...data.keys], values: new Map(data.values) }));
}

it("attempt durability - a retry is answered only once its failed attempt is written", async () => {
  const data = createMemoryKvData();
  const store = new KvStore(new MemoryKv(data));
  const opened = [store];
  try {
    await createQueue(store, "q", {}, { ackDeadlineMs: 1000 });
    await store.append("q", recs(3), T0);
    assert.deepEqual(attemptsOf(await lease(store, "q", 3, T0)), [1, 1, 1]);
    // The leases expire; the same call hands the messages out again as attempt 2.
    assert.deepEqual(attemptsOf(await lease(store, "q", 3, T0 + 5000)), [2, 2, 2]);

    const crashed = afterCrash(data);
    opened.push(crashed);
    assert.deepEqual(
      attemptsOf(await lease(crashed, "q", 3, T0 + 6000)),
      [2, 2, 2],
      "after the crash the attempt repeats, it does not go back to 1",
    );
  } finally {
    for (const s of opened) await s.close();
  }
});

it("attempt durability - max_delivery_attempts holds across a crash", async () => {
  const data = createMemoryKvData();
  const store = new KvStore(new MemoryKv(data));
  const opened = [store];
  try {
    await createQueue(store, "q", {}, { ackDeadlineMs: 1000, maxDeliveryAttempts: 2 });
    await store.append("q", recs(1), T0);
    assert.deepEqual(attemptsOf(await lease(store, "q", 1, T0)), [1]);
    assert.deepEqual(attemptsOf(await lease(store, "q", 1, T0 + 5000)), [2]);

    const crashed = afterCrash(data);
    opened.push(crashed);
    const again = await lease(crashed, "q", 1, T0 + 6000);
    // Attempt 2 may repeat (its lease was never settled); a third attempt must not happen.
    assert.deepEqual(attemptsOf(again), [2]);
    assert.deepEqual(await lease(crashed, "q", 1, T0 + 20_000), [], "exhausted: dropped, not delivered a 3rd time");
  } finally {
    for (const s of opened) await s.close();
  }
});
