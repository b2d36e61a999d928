/**
 * The trim (src/store/engine/trim.ts), as readers see it: a released message, still on disk until
 * the trim, never comes back through Seek, a new subscription, Read, Redrive, dedup or the topic
 * limits, and a purge or a filter's gaps do not confuse the released ranges. Memory KV, explicit
 * times, the trim driven through sweepRetention, the invariant check after every step.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createMemoryKvData } from "../../src/store/kv/memory-kv.js";
import {
  createQueue,
  lease,
  rec,
  recs,
  seqsOf,
  subSettings,
  T0,
  tokensOf,
  topicSettings,
} from "./conformance/helpers.js";
import { assertInvariants, drain, logSeqs, open, plain, releasedRanges, sweepAll } from "./trim-helpers.js";

describe("trim and readers", () => {
  it("trim - a filtered subscription's acks make one released range over the seqs the log never stored", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await store.createTopic(topicSettings("t"), T0, subSettings("eu", "t", { filter: { region: "eu" } }));
    const region = (i: number) => ({ region: i % 2 === 0 ? "eu" : "us" });
    await store.append(
      "t",
      plain(20).map((r, i) => ({ ...r, attributes: region(i) })),
      T0,
    );
    assert.deepEqual(logSeqs(data, 1), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19], "what nobody takes is not stored");
    assert.deepEqual(await drain(store, "eu"), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    assert.deepEqual(releasedRanges(data, 1), [[1, 19]]);
    await store.append(
      "t",
      plain(2, 21).map((r) => ({ ...r, attributes: { region: "eu" } })),
      T0,
    );
    const got = await lease(store, "eu", 10, T0);
    await store.ack("eu", { tokens: tokensOf(got.slice(1)), messageIds: [] }, T0); // 22 acked, 21 held
    assert.deepEqual(
      releasedRanges(data, 1),
      [
        [1, 19],
        [22, 22],
      ],
      "a held message between: no merge",
    );
    await store.ack("eu", { tokens: tokensOf(got.slice(0, 1)), messageIds: [] }, T0);
    assert.deepEqual(releasedRanges(data, 1), [[1, 22]]);
    assertInvariants(data);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), []);
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: 22, subscriptions: 1 });
    assertInvariants(data);
    await store.close();
  });

  it("trim - a seek back, a new subscription and Read never bring back a released message", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await store.createTopic(topicSettings("t"), T0, subSettings("a", "t"));
    await store.createSubscription(subSettings("b", "t"), T0);
    await store.append("t", recs(6), T0);
    await drain(store, "a");
    const got = await lease(store, "b", 3, T0);
    await store.ack("b", { tokens: tokensOf(got), messageIds: [] }, T0); // 1..3 released, 4..6 held by b
    await store.seek("a", { kind: "seq", seq: 1 }, T0);
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0)), [4, 5, 6], "only what b still holds comes back");
    await store.createSubscription(subSettings("late", "t"), T0);
    assert.equal((await store.subscriptionCounters("late")).unacked, 3);
    await drain(store, "late"); // its leases of 4..6 acked: a and b still hold them
    await store.seek("late", { kind: "time", timeMs: 0 }, T0);
    assert.deepEqual(seqsOf(await lease(store, "late", 10, T0)), [4, 5, 6]);
    assertInvariants(data);
    await sweepAll(store);
    assertInvariants(data);
    assert.deepEqual(logSeqs(data, 1), [4, 5, 6]);
    await store.close();
  });

  it("trim - unacked-scope dedup: the id is free at the ack, and a reuse survives the trim of the old message", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q", { dedupScope: "unacked" });
    assert.equal((await store.append("q", [rec("job")], T0))[0]?.duplicate, false);
    assert.equal((await store.append("q", [rec("job")], T0))[0]?.duplicate, true);
    await drain(store, "q");
    const again = await store.append("q", [rec("job")], T0);
    assert.deepEqual(again, [{ seq: 2, id: "job", duplicate: false }]);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), [2]);
    assert.deepEqual(await store.append("q", [rec("job")], T0), [{ seq: 2, id: "job", duplicate: true }]);
    assertInvariants(data);
    await store.close();
  });

  it("trim - drop_oldest and max_messages count released messages as gone", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q", { maxMessages: 3, overflow: "drop_oldest" });
    await store.append("q", recs(3), T0);
    const got = await lease(store, "q", 2, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0); // 1, 2 released, 3 held
    await store.append("q", recs(2, "n"), T0); // 3 live: 3, 4, 5: nothing to drop
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [3, 4, 5]);
    await store.append("q", recs(1, "o"), T0); // 4 live: the oldest live one (3) is dropped
    assert.deepEqual(await store.topicCounters("q"), { messages: 3, bytes: 6, lastSeq: 6, subscriptions: 1 });
    assertInvariants(data);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), [4, 5, 6]);
    assertInvariants(data);
    await store.close();
  });

  it("trim - Redrive skips dead letters the dead-letter queue acked (released, not trimmed yet)", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await store.createTopic(topicSettings("jobs"), T0);
    await createQueue(store, "dlq");
    await store.createSubscription(subSettings("work", "jobs", { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" }), T0);
    await store.append("jobs", plain(3), T0);
    const leased = await lease(store, "work", 10, T0);
    await store.nack("work", { tokens: tokensOf(leased), messageIds: [] }, T0, T0, { failed: true });
    const dead = await lease(store, "dlq", 2, T0);
    await store.ack("dlq", { tokens: tokensOf(dead), messageIds: [] }, T0); // 2 of the 3 dead letters
    const dlqId = (await store.getTopic("dlq"))?.id ?? 0;
    assert.deepEqual(logSeqs(data, dlqId), [1, 2, 3], "acked, still on disk");
    const moved = await store.redrive(
      "work",
      { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 100, maxScan: 10 },
      T0,
    );
    assert.equal(moved.moved, 1, "only the dead letter nobody acked goes back");
    assert.deepEqual(seqsOf(await lease(store, "work", 10, T0)), [4]);
    assertInvariants(data);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, dlqId), []);
    assertInvariants(data);
    await store.close();
  });

  it("trim - a purge takes released ranges with it", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q");
    await store.append("q", recs(10), T0);
    const got = await lease(store, "q", 4, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
    assert.equal(await store.purgeTopic("q"), 6);
    assert.deepEqual(releasedRanges(data, 1), []);
    assertInvariants(data);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), []);
    assertInvariants(data);
    await store.close();
  });
});
