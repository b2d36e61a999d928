/** Conformance: Store.reject, for deliveries that can never succeed (a push message without a usable target). */
import assert from "node:assert/strict";
import { it } from "node:test";
import { DEAD_LETTER_ATTRIBUTES as A } from "../../../src/store/index.js";
import { createQueue, expectReason, lease, rec, recs, type StoreFactory, setup, T0, tokensOf } from "./helpers.js";

export function rejectCases(factory: StoreFactory): void {
  it("reject - on the first attempt the message goes to the dead-letter topic, reason undeliverable, whatever max attempts", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "dlq");
    await createQueue(store, "q", {}, { maxDeliveryAttempts: 100, deadLetterTopic: "dlq" });
    await store.append("q", [rec("m1", { attributes: { k: "v" } }), rec("m2")], T0);
    const [first] = tokensOf(await lease(store, "q", 1, T0));
    assert.deepEqual(await store.reject("q", [first as string], T0, "no target"), { outcomes: ["ok"], left: 1 });
    const [dl] = await lease(store, "dlq", 10, T0);
    assert.equal(dl?.message.attributes.k, "v");
    assert.equal(dl?.message.attributes[A.reason], "undeliverable");
    assert.equal(dl?.message.attributes[A.attempts], "1");
    assert.equal(dl?.message.attributes[A.lastError], "no target");
    assert.equal(await store.deadLettered("q"), 1);
    const c = await store.subscriptionCounters("q");
    assert.deepEqual([c.unacked, c.inFlight], [1, 0]);
    assert.deepEqual(
      (await lease(store, "q", 10, T0)).map((r) => r.message.id),
      ["m2"],
    );
  });

  it("reject - without a dead-letter topic (and without max attempts) it is dropped and counted", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(1), T0);
    const tokens = tokensOf(await lease(store, "q", 1, T0));
    assert.deepEqual(await store.reject("q", tokens, T0, "x"), { outcomes: ["ok"], left: 1 });
    assert.equal(await store.deadLettered("q"), 1);
    assert.equal((await store.topicCounters("q")).messages, 0);
    assert.deepEqual(await lease(store, "q", 1, T0), []);
  });

  it("reject - a dead-letter topic that is gone keeps the message (never lost), after the retry backoff", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(
      store,
      "q",
      {},
      { deadLetterTopic: "missing", maxDeliveryAttempts: 5, retry: { minBackoffMs: 500, maxBackoffMs: 500 } },
    );
    await store.append("q", recs(1), T0);
    const tokens = tokensOf(await lease(store, "q", 1, T0));
    assert.deepEqual(await store.reject("q", tokens, T0, "x"), { outcomes: ["ok"], left: 0 });
    assert.equal(await store.deadLettered("q"), 0);
    assert.deepEqual(await lease(store, "q", 1, T0 + 499), []);
    assert.equal((await lease(store, "q", 1, T0 + 500))[0]?.attempt, 2);
  });

  it("reject - on an ordered subscription the key passes on to the next message; stale tokens are reported", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [rec("a", { orderingKey: "k" }), rec("b", { orderingKey: "k" })], T0);
    const leased = await lease(store, "q", 10, T0);
    assert.deepEqual(
      leased.map((r) => r.message.id),
      ["a"],
    );
    assert.deepEqual(await store.reject("q", tokensOf(leased), T0, "x"), { outcomes: ["ok"], left: 1 });
    assert.deepEqual(
      (await lease(store, "q", 10, T0)).map((r) => r.message.id),
      ["b"],
    );
    assert.deepEqual((await store.reject("q", tokensOf(leased), T0, "x")).outcomes, ["unknown"]);
    await expectReason(store.reject("nope", tokensOf(leased), T0, "x"), "SUBSCRIPTION_NOT_FOUND");
  });
}
