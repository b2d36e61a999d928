/** Conformance: topics and subscriptions (create, get, list, update, delete) and their errors. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  createQueue,
  expectReason,
  lease,
  rec,
  recs,
  type StoreFactory,
  setup,
  subSettings,
  T0,
  topicSettings,
} from "./helpers.js";

export function catalogCases(factory: StoreFactory): void {
  it("catalog - create, get, update and delete a topic", async (t) => {
    const { store } = await setup(t, factory);
    const { topic, subscription } = await store.createTopic(topicSettings("orders"), T0);
    assert.equal(subscription, undefined);
    assert.equal(topic.name, "orders");
    assert.equal(topic.createTimeMs, T0);
    assert.equal(topic.dedupWindowMs, 60_000);
    assert.deepEqual(await store.getTopic("orders"), topic);
    assert.equal(await store.getTopic("order"), undefined);
    assert.equal(await store.getTopic("orders2"), undefined);

    const updated = await store.updateTopic("orders", topicSettings("orders", { dedupWindowMs: 5000 }));
    assert.equal(updated.dedupWindowMs, 5000);
    assert.equal(updated.id, topic.id);
    assert.equal(updated.createTimeMs, T0);
    assert.deepEqual(await store.getTopic("orders"), updated);

    await store.deleteTopic("orders");
    assert.equal(await store.getTopic("orders"), undefined);
    assert.deepEqual(await store.listTopics("", 10), []);
  });

  it("catalog - operations on a missing topic fail with TOPIC_NOT_FOUND", async (t) => {
    const { store } = await setup(t, factory);
    await expectReason(store.updateTopic("nope", topicSettings("nope")), "TOPIC_NOT_FOUND");
    await expectReason(store.deleteTopic("nope"), "TOPIC_NOT_FOUND");
    await expectReason(store.purgeTopic("nope"), "TOPIC_NOT_FOUND");
    await expectReason(store.topicCounters("nope"), "TOPIC_NOT_FOUND");
    await expectReason(store.append("nope", [rec("a")], T0), "TOPIC_NOT_FOUND");
    await expectReason(store.createSubscription(subSettings("s", "nope"), T0), "TOPIC_NOT_FOUND");
    assert.equal(await store.getSubscription("s"), undefined);
  });

  it("catalog - a second topic of the same name is ALREADY_EXISTS and changes nothing", async (t) => {
    const { store } = await setup(t, factory);
    const { topic } = await store.createTopic(topicSettings("orders"), T0);
    await expectReason(store.createTopic(topicSettings("orders", { dedupWindowMs: 1 }), T0 + 5), "ALREADY_EXISTS");
    assert.deepEqual(await store.getTopic("orders"), topic);
  });

  it("catalog - a deleted topic's name can be used again, as a new topic with a fresh log", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    const old = await store.getTopic("q");
    await store.deleteTopic("q");
    const { topic } = await store.createTopic(topicSettings("q"), T0 + 1);
    assert.notEqual(topic.id, old?.id, "ids are never reused");
    assert.equal(topic.createTimeMs, T0 + 1);
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 0, subscriptions: 0 });
    assert.equal(await store.getSubscription("q"), undefined);
  });

  it("catalog - listTopics returns names in order after `after`, up to `limit`", async (t) => {
    const { store } = await setup(t, factory);
    for (const name of ["delta", "bravo", "echo", "alpha", "charlie", "alpha2"]) {
      await store.createTopic(topicSettings(name), T0);
    }
    const names = async (after: string, limit: number) => (await store.listTopics(after, limit)).map((x) => x.name);
    assert.deepEqual(await names("", 2), ["alpha", "alpha2"]);
    assert.deepEqual(await names("alpha2", 2), ["bravo", "charlie"]);
    assert.deepEqual(await names("charlie", 2), ["delta", "echo"]);
    assert.deepEqual(await names("echo", 2), []);
    assert.deepEqual(await names("b", 10), ["bravo", "charlie", "delta", "echo"], "after a name that is no topic");
    assert.deepEqual(await names("", 100), ["alpha", "alpha2", "bravo", "charlie", "delta", "echo"]);
  });

  it("catalog - create, get, update and delete a subscription", async (t) => {
    const { store } = await setup(t, factory);
    const { topic } = await store.createTopic(topicSettings("orders"), T0);
    const sub = await store.createSubscription(subSettings("billing", "orders", { ackDeadlineMs: 5000 }), T0 + 1);
    assert.equal(sub.name, "billing");
    assert.equal(sub.topic, "orders");
    assert.equal(sub.topicId, topic.id);
    assert.equal(sub.ackDeadlineMs, 5000);
    assert.equal(sub.createTimeMs, T0 + 1);
    assert.deepEqual(await store.getSubscription("billing"), sub);

    const updated = await store.updateSubscription("billing", subSettings("billing", "orders", { paused: true }));
    assert.equal(updated.paused, true);
    assert.equal(updated.id, sub.id);
    assert.equal(updated.createTimeMs, T0 + 1);
    assert.deepEqual(await store.getSubscription("billing"), updated);
    assert.equal((await store.topicCounters("orders")).subscriptions, 1);

    await store.deleteSubscription("billing");
    assert.equal(await store.getSubscription("billing"), undefined);
    assert.equal((await store.topicCounters("orders")).subscriptions, 0);
    assert.ok(await store.getTopic("orders"), "the topic stays");
  });

  it("catalog - subscription names are unique across topics (ALREADY_EXISTS)", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("a"), T0);
    await store.createTopic(topicSettings("b"), T0);
    const first = await store.createSubscription(subSettings("s", "a"), T0);
    await expectReason(store.createSubscription(subSettings("s", "a"), T0), "ALREADY_EXISTS");
    await expectReason(store.createSubscription(subSettings("s", "b"), T0), "ALREADY_EXISTS");
    assert.deepEqual(await store.getSubscription("s"), first);
    assert.equal((await store.topicCounters("b")).subscriptions, 0);
  });

  it("catalog - operations on a missing subscription fail with SUBSCRIPTION_NOT_FOUND", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("a"), T0);
    const none = { tokens: [], messageIds: ["x"] };
    await expectReason(store.updateSubscription("s", subSettings("s", "a")), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.deleteSubscription("s"), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(lease(store, "s", 1, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.peek("s", 1, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.ack("s", none, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.nack("s", none, T0, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.extend("s", ["1-1-1-0"], T0, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.nextDueMs("s"), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.subscriptionCounters("s"), "SUBSCRIPTION_NOT_FOUND");
  });

  it("catalog - listSubscriptions filters by topic and pages by name", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("a"), T0);
    await store.createTopic(topicSettings("b"), T0);
    for (const [name, topic] of [
      ["s3", "a"],
      ["s1", "b"],
      ["s2", "a"],
      ["s5", "a"],
      ["s4", "b"],
    ] as const) {
      await store.createSubscription(subSettings(name, topic), T0);
    }
    const names = async (topic: string, after: string, limit: number) =>
      (await store.listSubscriptions(topic, after, limit)).map((s) => s.name);
    assert.deepEqual(await names("", "", 10), ["s1", "s2", "s3", "s4", "s5"]);
    assert.deepEqual(await names("a", "", 2), ["s2", "s3"]);
    assert.deepEqual(await names("a", "s3", 2), ["s5"]);
    assert.deepEqual(await names("b", "", 10), ["s1", "s4"]);
    assert.deepEqual(await names("b", "s1", 1), ["s4"]);
    assert.deepEqual(await names("", "s2", 2), ["s3", "s4"]);
    assert.deepEqual(await names("a", "s5", 10), []);
  });

  it("catalog - listSubscriptions orders names by UTF-8 bytes, per topic as across topics", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("u"), T0);
    // UTF-16 order would put the emoji (a surrogate pair) before U+FF01; UTF-8 bytes put it after.
    for (const name of ["\u{1F600}", "\uFF01", "\u00E9"]) await store.createSubscription(subSettings(name, "u"), T0);
    const expected = ["\u00E9", "\uFF01", "\u{1F600}"];
    assert.deepEqual(
      (await store.listSubscriptions("", "", 10)).map((s) => s.name),
      expected,
    );
    assert.deepEqual(
      (await store.listSubscriptions("u", "", 10)).map((s) => s.name),
      expected,
    );
    assert.deepEqual(
      (await store.listSubscriptions("u", "\uFF01", 10)).map((s) => s.name),
      ["\u{1F600}"],
    );
    assert.deepEqual(await store.listSubscriptions("no-such-topic", "", 10), []);
  });

  it("catalog - createTopic with queueSubscription creates both at once", async (t) => {
    const { store } = await setup(t, factory);
    const { topic, subscription } = await store.createTopic(
      topicSettings("jobs", { queue: true }),
      T0,
      subSettings("jobs", "jobs"),
    );
    assert.ok(subscription);
    assert.equal(subscription.name, "jobs");
    assert.equal(subscription.topicId, topic.id);
    assert.deepEqual(await store.getSubscription("jobs"), subscription);
    assert.equal((await store.topicCounters("jobs")).subscriptions, 1);
  });

  it("catalog - createTopic whose queue subscription exists fails whole: no topic is left behind", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("other"), T0);
    const existing = await store.createSubscription(subSettings("jobs", "other"), T0);
    await expectReason(store.createTopic(topicSettings("jobs"), T0, subSettings("jobs", "jobs")), "ALREADY_EXISTS");
    assert.equal(await store.getTopic("jobs"), undefined);
    assert.deepEqual(await store.getSubscription("jobs"), existing);
    assert.deepEqual(
      (await store.listTopics("", 10)).map((x) => x.name),
      ["other"],
    );
  });

  it("catalog - deleteTopic removes its subscriptions and messages, and nothing of other topics", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "a");
    await createQueue(store, "b");
    await store.createSubscription(subSettings("a2", "a"), T0);
    await store.append("a", recs(3), T0);
    await store.append("b", recs(2), T0);
    await store.deleteTopic("a");
    assert.equal(await store.getSubscription("a"), undefined);
    assert.equal(await store.getSubscription("a2"), undefined);
    assert.deepEqual(
      (await store.listSubscriptions("", "", 10)).map((s) => s.name),
      ["b"],
    );
    assert.deepEqual(
      (await lease(store, "b", 10, T0)).map((r) => r.message.id),
      ["m1", "m2"],
    );
    assert.equal((await store.topicCounters("b")).messages, 2);
  });
}
