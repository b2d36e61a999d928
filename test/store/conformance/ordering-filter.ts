/** Conformance: attribute filters (fan-out at publish and at create) and ordered subscriptions. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  createQueue,
  lease,
  rec,
  type StoreFactory,
  seqsOf,
  setup,
  subSettings,
  T0,
  tokensOf,
  topicSettings,
} from "./helpers.js";

const keyed = (id: string, orderingKey: string) => rec(id, { orderingKey });

export function orderingFilterCases(factory: StoreFactory): void {
  it("filter - a subscription gets only messages whose attributes match every filter entry", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("red", "t", { filter: { color: "red" } }), T0);
    await store.createSubscription(subSettings("red-big", "t", { filter: { color: "red", size: "big" } }), T0);
    await store.createSubscription(subSettings("all", "t"), T0);
    await store.append(
      "t",
      [
        rec("a", { attributes: { color: "red" } }),
        rec("b", { attributes: { color: "blue", size: "big" } }),
        rec("c", { attributes: { color: "red", size: "big" } }),
        rec("d"),
        rec("e", { attributes: { color: "RED" } }),
      ],
      T0,
    );
    assert.deepEqual(seqsOf(await lease(store, "red", 10, T0)), [1, 3]);
    assert.deepEqual(seqsOf(await lease(store, "red-big", 10, T0)), [3]);
    assert.deepEqual(seqsOf(await lease(store, "all", 10, T0)), [1, 2, 3, 4, 5]);
    assert.equal((await store.subscriptionCounters("red")).unacked, 2);
    assert.equal((await store.subscriptionCounters("red-big")).unacked, 1);
    assert.equal((await store.topicCounters("t")).messages, 5);
  });

  it("filter - a message no subscription's filter passes is not stored; acks release filtered fan-out exactly", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("a", "t", { filter: { k: "a" } }), T0);
    await store.createSubscription(subSettings("b", "t", { filter: { k: "b" } }), T0);
    await store.append("t", [rec("x", { attributes: { k: "z" } })], T0);
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: 1, subscriptions: 2 });
    await store.append("t", [rec("y", { attributes: { k: "a" } })], T0);
    const got = await lease(store, "a", 10, T0);
    assert.deepEqual(seqsOf(got), [2]);
    assert.deepEqual(await store.ack("a", { tokens: tokensOf(got), messageIds: [] }, T0), ["ok"]);
    // Only "a" held it: the ack takes it out of the log.
    assert.equal((await store.topicCounters("t")).messages, 0);
  });

  it("filter - a new subscription starting at the earliest message takes only matching stored messages", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("keep", "t"), T0);
    await store.append("t", [rec("a", { attributes: { k: "1" } }), rec("b"), rec("c", { attributes: { k: "1" } })], T0);
    await store.createSubscription(subSettings("late", "t", { filter: { k: "1" }, start: { kind: "earliest" } }), T0);
    assert.deepEqual(seqsOf(await lease(store, "late", 10, T0)), [1, 3]);
    assert.equal((await store.subscriptionCounters("late")).unacked, 2);
  });

  it("ordered - one message in flight per ordering key; other keys and unkeyed messages are not held up", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A"), keyed("b1", "B"), rec("n1"), keyed("a3", "A")], T0);
    const first = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(first), [1, 3, 4], "A's head, B's head and the unkeyed message");
    assert.deepEqual(await lease(store, "q", 10, T0), [], "A2 waits for A1's ack");
    assert.deepEqual(await store.ack("q", { tokens: [tokensOf(first)[0] as string], messageIds: [] }, T0), ["ok"]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
    assert.deepEqual(await lease(store, "q", 10, T0), [], "A3 waits for A2");
  });

  it("ordered - a nacked or expired head goes out again before the key's next message", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A")], T0);
    const [a1] = await lease(store, "q", 10, T0, 1000);
    assert.equal(a1?.message.seq, 1);
    assert.deepEqual(await store.nack("q", { tokens: [a1?.token as string], messageIds: [] }, T0, T0), ["ok"]);
    const again = await lease(store, "q", 10, T0, 1000);
    assert.deepEqual(seqsOf(again), [1], "the head again, alone");
    assert.deepEqual(
      again.map((r) => r.attempt),
      [2],
    );
    // Its lease expires: still the head, still alone.
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 2000, 1000)), [1]);
    // A delayed nack keeps the key locked until it is redelivered and acked.
    const [third] = await lease(store, "q", 10, T0 + 4000, 1000);
    assert.equal(third?.message.seq, 1);
    await store.nack("q", { tokens: [third?.token as string], messageIds: [] }, T0 + 10_000, T0 + 4000);
    assert.deepEqual(await lease(store, "q", 10, T0 + 5000), [], "a2 waits behind the delayed a1");
    const [fourth] = await lease(store, "q", 10, T0 + 10_000);
    assert.equal(fourth?.message.seq, 1);
    await store.ack("q", { tokens: [fourth?.token as string], messageIds: [] }, T0 + 10_000);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 10_000)), [2]);
  });

  it("ordered - a head that leaves without an ack (TTL) does not block its key for ever", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [rec("a1", { orderingKey: "A", expireAtMs: T0 + 500 }), keyed("a2", "A")], T0);
    const [a1] = await lease(store, "q", 10, T0, 1000);
    assert.equal(a1?.message.seq, 1);
    await store.nack("q", { tokens: [a1?.token as string], messageIds: [] }, T0, T0);
    // At T0+600 the head is past its TTL: dropped at hand-out, and the key passes to a2.
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 600)), [2]);
  });

  it("ordered - peek shows what a lease would hand out; auto-ack releases the key at once", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A"), keyed("b1", "B")], T0);
    assert.deepEqual(seqsOf(await store.peek("q", 10, T0)), [1, 3]);
    const auto = await store.lease("q", { max: 10, leaseMs: 1000, nowMs: T0, autoAck: true });
    assert.deepEqual(seqsOf(auto), [1, 3]);
    assert.deepEqual(seqsOf(await store.lease("q", { max: 10, leaseMs: 1000, nowMs: T0, autoAck: true })), [2]);
  });

  it("ordered - a very long ordering key locks like a short one", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    const long = "k".repeat(1024);
    await store.append("q", [keyed("x1", long), keyed("x2", long), keyed("y1", `${long}y`)], T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [1, 3]);
  });
}
