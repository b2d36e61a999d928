/** Conformance: deleting subscriptions and purging topics release exactly what they held. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  createQueue,
  lease,
  rec,
  recs,
  type StoreFactory,
  seqsOf,
  setup,
  subSettings,
  T0,
  tokensOf,
  topicSettings,
} from "./helpers.js";

export function lifecycleCases(factory: StoreFactory): void {
  it("lifecycle - deleteSubscription releases its messages; they leave the log when no one holds them", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("a", "t"), T0);
    await store.createSubscription(subSettings("b", "t"), T0);
    await store.append("t", [rec("x", { data: Buffer.alloc(3) }), rec("y", { data: Buffer.alloc(5) })], T0);
    await store.append("t", [rec("z", { data: Buffer.alloc(7), deliverAtMs: T0 + 1000 })], T0);
    await store.ack("a", { tokens: [], messageIds: ["x"] }, T0);
    await lease(store, "b", 1, T0);
    assert.deepEqual(await store.topicCounters("t"), { messages: 3, bytes: 15, lastSeq: 3, subscriptions: 2 });

    await store.deleteSubscription("b");
    assert.deepEqual(
      await store.topicCounters("t"),
      { messages: 2, bytes: 12, lastSeq: 3, subscriptions: 1 },
      "x (acked by a, leased by b) is gone; y and z are still held by a",
    );
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0 + 1000)), [2, 3]);

    await store.deleteSubscription("a");
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: 3, subscriptions: 0 });
    await store.createSubscription(subSettings("c", "t", { start: { kind: "earliest" } }), T0 + 2000);
    assert.deepEqual(await lease(store, "c", 10, T0 + 2000), []);
  });

  it("lifecycle - deleting a subscription with a delayed message does not disturb the others", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("a", "t"), T0);
    await store.createSubscription(subSettings("b", "t"), T0);
    await store.append("t", [rec("d", { deliverAtMs: T0 + 500 })], T0);
    const [nacked] = await lease(store, "a", 1, T0 + 500);
    await store.nack("a", { tokens: [nacked?.token ?? ""], messageIds: [] }, T0 + 900, T0 + 500);
    await store.deleteSubscription("b");
    assert.equal(await store.nextDueMs("a"), T0 + 900);
    const again = await lease(store, "a", 1, T0 + 900);
    assert.deepEqual([again[0]?.message.id, again[0]?.attempt], ["d", 2]);
  });

  it("lifecycle - purgeTopic empties the log and every subscription, but seqs keep counting", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.createSubscription(subSettings("q2", "q"), T0);
    await store.append("q", [...recs(3), rec("late", { deliverAtMs: T0 + 5000 })], T0);
    const leased = await lease(store, "q", 2, T0);
    assert.equal(await store.purgeTopic("q"), 4);
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 4, subscriptions: 2 });
    for (const name of ["q", "q2"]) {
      assert.deepEqual(await store.subscriptionCounters(name), {
        unacked: 0,
        inFlight: 0,
        delayed: 0,
        oldestUnackedPublishMs: 0,
      });
      assert.deepEqual(await lease(store, name, 10, T0 + 10_000), [], name);
      assert.equal(await store.nextDueMs(name), undefined, name);
    }
    assert.deepEqual(await store.ack("q", { tokens: tokensOf(leased), messageIds: ["m3"] }, T0), [
      "unknown",
      "unknown",
      "unknown",
    ]);
    assert.deepEqual(
      (await store.append("q", recs(1, "n"), T0 + 1)).map((r) => r.seq),
      [5],
    );
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 1)), [5]);
    assert.deepEqual(seqsOf(await lease(store, "q2", 10, T0 + 1)), [5]);
    assert.equal(await store.purgeTopic("q"), 1);
    assert.equal(await store.purgeTopic("q"), 0);
  });
}
