/** Conformance: close, then reopen on the same data; everything acknowledged survives. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  attemptsOf,
  createQueue,
  expectReason,
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

export function durabilityCases(factory: StoreFactory): void {
  it("durability - topics, subscriptions, log, acks, counters, ids and dedup survive a reopen; leases as the backend says", async (t) => {
    const h = await setup(t, factory);
    const before = h.store;
    const { topic: qTopic } = await before.createTopic(
      topicSettings("q", { dedupWindowMs: 10_000 }),
      T0,
      subSettings("q", "q", { ackDeadlineMs: 4321 }),
    );
    await before.createSubscription(subSettings("audit", "q"), T0);
    await before.createTopic(topicSettings("gone"), T0);
    await before.deleteTopic("gone");
    await before.append("q", [rec("a", { data: Buffer.from("payload-a"), attributes: { k: "v" }, priority: 2 })], T0);
    await before.append("q", [...recs(3), rec("later", { deliverAtMs: T0 + 50_000 })], T0 + 10);
    const leased = await lease(before, "q", 2, T0 + 20, 1000);
    assert.deepEqual(
      leased.map((r) => r.message.id),
      ["a", "m1"],
    );
    await before.ack("q", { tokens: [], messageIds: ["m2"] }, T0 + 20);
    await before.ack("audit", { tokens: [], messageIds: ["a", "m1", "m2"] }, T0 + 20);
    const topicCounters = await before.topicCounters("q");
    const qCounters = await before.subscriptionCounters("q");
    const auditCounters = await before.subscriptionCounters("audit");
    assert.deepEqual(qCounters, { unacked: 4, inFlight: 2, delayed: 1, oldestUnackedPublishMs: T0 });
    await before.close();

    const after = await h.reopen();
    assert.deepEqual(await after.getTopic("q"), qTopic);
    assert.equal(await after.getTopic("gone"), undefined);
    assert.equal((await after.getSubscription("q"))?.ackDeadlineMs, 4321);
    assert.deepEqual(
      (await after.listSubscriptions("q", "", 10)).map((s) => s.name),
      ["audit", "q"],
    );
    assert.deepEqual(await after.topicCounters("q"), topicCounters);
    assert.deepEqual(await after.subscriptionCounters("audit"), auditCounters);
    if (after.capabilities.leasesSurviveRestart) {
      assert.deepEqual(await after.subscriptionCounters("q"), qCounters);
      assert.equal(await after.nextDueMs("q"), T0 + 1020, "lease deadlines are stored");
      // Leases hold until their deadline, and old tokens stay valid.
      assert.deepEqual(seqsOf(await lease(after, "q", 10, T0 + 30, 60_000)), [4], "m3; a and m1 are leased");
      assert.deepEqual(await after.extend("q", [leased[1]?.token ?? ""], T0 + 2000, T0 + 30), ["ok"]);
      const redelivered = await lease(after, "q", 10, T0 + 1020, 60_000);
      assert.deepEqual(seqsOf(redelivered), [1]);
      assert.deepEqual(attemptsOf(redelivered), [2]);
      assert.equal(redelivered[0]?.message.attributes.k, "v");
      assert.equal(Buffer.from(redelivered[0]?.message.data ?? []).toString(), "payload-a");
      assert.deepEqual(await after.ack("q", { tokens: tokensOf(leased), messageIds: [] }, T0 + 1020), ["stale", "ok"]);
    } else {
      // Leases live in the broker's memory: after a restart every unacked message is available
      // again at once; only the delayed one is due later.
      assert.deepEqual(await after.subscriptionCounters("q"), { ...qCounters, inFlight: 0 });
      assert.equal(await after.nextDueMs("q"), T0 + 50_000, "only the delay is stored");
      // An old token still acks a message nobody leased again (m1's lease ended with the restart).
      assert.deepEqual(await after.ack("q", { tokens: [leased[1]?.token ?? ""], messageIds: [] }, T0 + 30), ["ok"]);
      // A delivery attempt may repeat after a restart, never go backwards: after a graceful close
      // "a" is counted as delivered once already.
      const redelivered = await lease(after, "q", 10, T0 + 30, 60_000);
      assert.deepEqual(seqsOf(redelivered), [1, 4], "a (priority 2), then m3");
      assert.deepEqual(attemptsOf(redelivered), [2, 1]);
      assert.equal(redelivered[0]?.message.attributes.k, "v");
      assert.equal(Buffer.from(redelivered[0]?.message.data ?? []).toString(), "payload-a");
      assert.deepEqual(await after.ack("q", { tokens: tokensOf(leased), messageIds: [] }, T0 + 30), [
        "stale",
        "unknown",
      ]);
    }

    // Dedup and seq allocation continue where they were.
    assert.deepEqual(await after.append("q", [rec("m3"), rec("new")], T0 + 1030), [
      { seq: 4, id: "m3", duplicate: true },
      { seq: 6, id: "new", duplicate: false },
    ]);
    // Ids are never reused: a new topic gets an id above every earlier one (including "gone").
    const { topic: fresh } = await after.createTopic(topicSettings("fresh"), T0);
    assert.ok(fresh.id > qTopic.id + 1, `new topic id ${fresh.id} must follow q (${qTopic.id}) and gone`);
    const sub = await after.createSubscription(subSettings("s", "fresh"), T0);
    assert.ok(sub.id > 2, `new subscription id ${sub.id} must follow q and audit`);
    // The delayed message is still delayed.
    assert.deepEqual(
      (await lease(after, "audit", 10, T0 + 50_000)).map((r) => r.message.id),
      ["m3", "later", "new"],
    );
  });

  it("durability - an empty store reopens empty", async (t) => {
    const h = await setup(t, factory);
    await h.store.close();
    const after = await h.reopen();
    assert.deepEqual(await after.listTopics("", 10), []);
    assert.deepEqual(await after.listSubscriptions("", "", 10), []);
  });

  it("durability - close waits for writes already started", async (t) => {
    const h = await setup(t, factory);
    await createQueue(h.store, "q");
    const appended = h.store.append("q", recs(10), T0);
    await h.store.close();
    assert.equal((await appended).length, 10);
    const after = await h.reopen();
    assert.equal((await after.topicCounters("q")).lastSeq, 10);
    assert.equal((await lease(after, "q", 100, T0)).length, 10);
  });

  it("durability - calls on a closed store are rejected", async (t) => {
    const h = await setup(t, factory);
    await createQueue(h.store, "q");
    await h.store.close();
    await assert.rejects(h.store.append("q", recs(1), T0));
    await assert.rejects(h.store.getTopic("q"));
    await assert.rejects(lease(h.store, "q", 1, T0));
    await h.store.close();
    const after = await h.reopen();
    assert.equal((await after.topicCounters("q")).lastSeq, 0);
  });

  it("durability - a recreated topic is not confused with its deleted namesake after reopen", async (t) => {
    const h = await setup(t, factory);
    await createQueue(h.store, "q");
    await h.store.append("q", recs(2), T0);
    await h.store.deleteTopic("q");
    await createQueue(h.store, "q");
    await h.store.append("q", [rec("only")], T0);
    await h.store.close();
    const after = await h.reopen();
    assert.deepEqual(
      (await lease(after, "q", 10, T0)).map((r) => [r.message.seq, r.message.id]),
      [[1, "only"]],
    );
    await expectReason(after.deleteSubscription("nope"), "SUBSCRIPTION_NOT_FOUND");
  });
}
