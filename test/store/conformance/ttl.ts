/** Conformance: the sweep drops messages past their TTL from the log and every subscription. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { lease, rec, type StoreFactory, setup, subSettings, T0, tokensOf, topicSettings } from "./helpers.js";

export function ttlCases(factory: StoreFactory): void {
  it("ttl - the sweep drops expired messages, leased or not, from every subscription; others stay", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("a", "t"), T0);
    await store.createSubscription(subSettings("b", "t"), T0);
    assert.equal(await store.hasRetentionWork(), false);
    await store.append(
      "t",
      [rec("short", { expireAtMs: T0 + 1000 }), rec("long", { expireAtMs: T0 + 60_000 }), rec("never")],
      T0,
    );
    assert.equal(await store.hasRetentionWork(), true, "a stored TTL is work for the sweep");
    const leased = await lease(store, "a", 1, T0, 30_000);
    assert.equal(leased[0]?.message.id, "short");
    assert.deepEqual(await store.sweepRetention(T0 + 999, 100), { removed: 0, more: false, changedTopics: [] });
    const swept = await store.sweepRetention(T0 + 1000, 100);
    assert.equal(swept.removed, 1);
    assert.deepEqual(swept.changedTopics, ["t"], "its subscriptions' consumers are woken");
    assert.deepEqual(await store.topicCounters("t"), {
      messages: 2,
      bytes: "long".length + "never".length,
      lastSeq: 3,
      subscriptions: 2,
    });
    const a = await store.subscriptionCounters("a");
    assert.deepEqual([a.unacked, a.inFlight], [2, 0]);
    assert.equal((await store.subscriptionCounters("b")).unacked, 2);
    assert.deepEqual(await store.ack("a", { tokens: tokensOf(leased), messageIds: [] }, T0 + 1000), ["unknown"]);
    assert.deepEqual(
      (await store.peek("b", 10, T0 + 1000)).map((r) => r.message.id),
      ["long", "never"],
    );
    assert.equal((await store.sweepRetention(T0 + 60_000, 100)).removed, 1);
    assert.equal((await store.topicCounters("t")).messages, 1);
  });

  it("ttl - entries of messages acked or purged before they expire cost nothing but their removal", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("q"), T0, subSettings("q", "q"));
    await store.append("q", [rec("x", { expireAtMs: T0 + 100 }), rec("y", { expireAtMs: T0 + 100 })], T0);
    const got = await lease(store, "q", 1, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
    await store.purgeTopic("q");
    await store.append("q", [rec("z")], T0);
    assert.deepEqual(await store.sweepRetention(T0 + 100, 100), { removed: 0, more: false, changedTopics: [] });
    assert.equal((await store.topicCounters("q")).messages, 1, "z has no TTL and stays");
    assert.equal((await store.subscriptionCounters("q")).unacked, 1);
  });
  it("ttl - a message acked before it expires takes its sweep entry with it", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("q"), T0, subSettings("q", "q"));
    await store.append("q", [rec("x", { expireAtMs: T0 + 365 * 24 * 3600 * 1000 }), rec("y")], T0);
    assert.equal(await store.hasRetentionWork(), true);
    const got = await lease(store, "q", 10, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
    assert.equal(await store.hasRetentionWork(), false, "no TTL entry outlives its message");
  });
}
