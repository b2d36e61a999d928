/** Conformance: lease order and limits, redelivery, auto-ack, peek, delay, TTL, start positions. */
import assert from "node:assert/strict";
import { it } from "node:test";
import {
  attemptsOf,
  createQueue,
  lease,
  rec,
  recs,
  type StoreFactory,
  seqsOf,
  setup,
  subSettings,
  T0,
  topicSettings,
} from "./helpers.js";

export function deliveryCases(factory: StoreFactory): void {
  it("delivery - lease order is priority (high first), then seq", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const priorities = [0, 5, 9, 5, 0, 9, 1];
    await store.append(
      "q",
      priorities.map((priority, i) => rec(`m${i + 1}`, { priority })),
      T0,
    );
    const got = await lease(store, "q", 100, T0);
    assert.deepEqual(seqsOf(got), [3, 6, 2, 4, 7, 1, 5]);
    assert.deepEqual(
      got.map((r) => r.message.priority),
      [9, 9, 5, 5, 1, 0, 0],
    );
    assert.deepEqual(attemptsOf(got), [1, 1, 1, 1, 1, 1, 1]);
  });

  it("delivery - lease returns at most `max` and leased messages are not leased again before the deadline", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(5), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 2, T0, 1000)), [1, 2]);
    assert.deepEqual(seqsOf(await lease(store, "q", 2, T0 + 10, 1000)), [3, 4]);
    assert.deepEqual(seqsOf(await lease(store, "q", 2, T0 + 20, 1000)), [5]);
    assert.deepEqual(await lease(store, "q", 10, T0 + 999), []);
    const tokens = new Set((await store.peek("q", 10, T0 + 999)).map((r) => r.message.seq));
    assert.equal(tokens.size, 0, "leased messages are not available to peek either");
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 5,
      inFlight: 5,
      delayed: 0,
      oldestUnackedPublishMs: T0,
    });
  });

  it("delivery - concurrent leases never hand out the same message twice", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(10), T0);
    const batches = await Promise.all(Array.from({ length: 5 }, () => lease(store, "q", 3, T0)));
    const seqs = batches.flatMap(seqsOf).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    assert.equal((await store.subscriptionCounters("q")).inFlight, 10);
  });

  it("delivery - after the deadline a lease is handed out again, attempt + 1, in its seq place", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    const first = await lease(store, "q", 10, T0, 1000);
    assert.notEqual(first[0]?.token, "");
    await store.append("q", recs(2, "n"), T0 + 500);
    const again = await lease(store, "q", 10, T0 + 1001, 1000);
    assert.deepEqual(seqsOf(again), [1, 2, 3, 4, 5]);
    assert.deepEqual(attemptsOf(again), [2, 2, 2, 1, 1]);
    assert.notEqual(again[0]?.token, first[0]?.token, "a new lease has a new token");
    const third = await lease(store, "q", 2, T0 + 2002, 1000);
    assert.deepEqual(seqsOf(third), [1, 2]);
    assert.deepEqual(attemptsOf(third), [3, 3]);
  });

  it("delivery - a redelivered message goes after newer messages of higher priority", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("low")], T0);
    await lease(store, "q", 1, T0, 100);
    await store.append("q", [rec("high", { priority: 3 }), rec("low2")], T0 + 50);
    const got = await lease(store, "q", 10, T0 + 200);
    assert.deepEqual(
      got.map((r) => r.message.id),
      ["high", "low", "low2"],
    );
  });

  it("delivery - autoAck hands messages out once and removes them", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    const got = await store.lease("q", { max: 2, leaseMs: 1000, nowMs: T0, autoAck: true });
    assert.deepEqual(seqsOf(got), [1, 2]);
    assert.deepEqual(attemptsOf(got), [1, 1]);
    assert.deepEqual(
      got.map((r) => r.token),
      ["", ""],
    );
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 1,
      inFlight: 0,
      delayed: 0,
      oldestUnackedPublishMs: T0,
    });
    assert.equal((await store.topicCounters("q")).messages, 1);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 5000)), [3], "never handed out again");
    assert.equal(await store.nextDueMs("q"), T0 + 5000 + 1000);
  });

  it("delivery - peek shows delivery order without leasing", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("a"), rec("b", { priority: 2 }), rec("c")], T0);
    const peeked = await store.peek("q", 10, T0);
    assert.deepEqual(
      peeked.map((r) => r.message.id),
      ["b", "a", "c"],
    );
    assert.deepEqual(
      peeked.map((r) => r.token),
      ["", "", ""],
    );
    assert.deepEqual(attemptsOf(peeked), [1, 1, 1]);
    assert.deepEqual(
      (await store.peek("q", 2, T0)).map((r) => r.message.id),
      ["b", "a"],
    );
    assert.equal((await store.subscriptionCounters("q")).inFlight, 0);
    assert.deepEqual(
      (await lease(store, "q", 1, T0)).map((r) => r.message.id),
      ["b"],
    );
    assert.deepEqual(
      (await store.peek("q", 10, T0)).map((r) => r.message.id),
      ["a", "c"],
    );
    assert.deepEqual(
      (await store.peek("q", 10, T0 + 1001)).map((r) => [r.message.id, r.attempt]),
      [
        ["b", 2],
        ["a", 1],
        ["c", 1],
      ],
      "peek shows the attempt a lease would have",
    );
  });

  it("delivery - a delayed message is not available before deliverAtMs", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("later", { deliverAtMs: T0 + 1000 }), rec("now")], T0);
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 2,
      inFlight: 0,
      delayed: 1,
      oldestUnackedPublishMs: T0,
    });
    assert.equal(await store.nextDueMs("q"), T0 + 1000);
    assert.deepEqual(
      (await store.peek("q", 10, T0 + 999)).map((r) => r.message.id),
      ["now"],
    );
    assert.deepEqual(
      (await lease(store, "q", 10, T0 + 999, 5000)).map((r) => r.message.id),
      ["now"],
    );
    assert.deepEqual(await lease(store, "q", 10, T0 + 999), []);
    const got = await lease(store, "q", 10, T0 + 1000);
    assert.deepEqual(
      got.map((r) => [r.message.id, r.attempt, r.message.deliverAtMs]),
      [["later", 1, T0 + 1000]],
    );
    const c = await store.subscriptionCounters("q");
    assert.deepEqual([c.inFlight, c.delayed], [2, 0]);
  });

  it("delivery - an expired message (TTL) is never delivered and leaves the backlog", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append(
      "q",
      [
        rec("short", { expireAtMs: T0 + 1000, data: Buffer.alloc(7) }),
        rec("long", { expireAtMs: T0 + 10_000 }),
        rec("gone", { expireAtMs: T0 + 1000 }),
        rec("delayed", { deliverAtMs: T0 + 2000, expireAtMs: T0 + 1500 }),
      ],
      T0,
    );
    assert.deepEqual(
      (await store.peek("q", 10, T0 + 999)).map((r) => r.message.id),
      ["short", "long", "gone"],
    );
    const held = await store.lease("q", { max: 1, leaseMs: 200, nowMs: T0 + 999, autoAck: false });
    assert.deepEqual(
      held.map((r) => r.message.id),
      ["short"],
    );
    assert.deepEqual(
      (await store.peek("q", 10, T0 + 1000)).map((r) => r.message.id),
      ["long"],
    );
    assert.deepEqual(
      (await lease(store, "q", 10, T0 + 3000)).map((r) => r.message.id),
      ["long"],
      "the expired lease, the expired and the delayed-then-expired messages are not delivered",
    );
    const c = await store.subscriptionCounters("q");
    assert.deepEqual([c.unacked, c.inFlight, c.delayed], [1, 1, 0]);
    assert.deepEqual(await store.topicCounters("q"), { messages: 1, bytes: 4, lastSeq: 4, subscriptions: 1 });
  });

  it("delivery - nextDueMs is the earliest lease deadline or delay, undefined when none", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    assert.equal(await store.nextDueMs("q"), undefined);
    await store.append("q", [rec("a")], T0);
    assert.equal(await store.nextDueMs("q"), undefined, "available messages are not due later");
    const [a] = await lease(store, "q", 1, T0, 3000);
    assert.equal(await store.nextDueMs("q"), T0 + 3000);
    await store.append("q", [rec("d", { deliverAtMs: T0 + 2000 })], T0);
    assert.equal(await store.nextDueMs("q"), T0 + 2000);
    await store.ack("q", { tokens: [], messageIds: ["d"] }, T0);
    assert.equal(await store.nextDueMs("q"), T0 + 3000);
    await store.ack("q", { tokens: [a?.token ?? ""], messageIds: [] }, T0);
    assert.equal(await store.nextDueMs("q"), undefined);
  });

  it("delivery - start positions: earliest, latest, seq and time", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("keep", "t"), T0);
    await store.append("t", [rec("a")], T0);
    await store.append("t", [rec("b"), rec("c", { deliverAtMs: T0 + 500 })], T0 + 100);
    const [leasedA] = await lease(store, "keep", 1, T0 + 100);
    assert.equal(leasedA?.message.id, "a", "a message leased elsewhere is still in the log");
    const at = T0 + 200;
    await store.createSubscription(subSettings("earliest", "t", { start: { kind: "earliest" } }), at);
    await store.createSubscription(subSettings("latest", "t", { start: { kind: "latest" } }), at);
    await store.createSubscription(subSettings("seq2", "t", { start: { kind: "seq", seq: 2 } }), at);
    await store.createSubscription(subSettings("time", "t", { start: { kind: "time", timeMs: T0 + 50 } }), at);
    const ids = async (name: string, nowMs: number) => (await lease(store, name, 10, nowMs)).map((r) => r.message.id);
    assert.deepEqual(await ids("earliest", at), ["a", "b"]);
    assert.deepEqual(await ids("latest", at), []);
    assert.deepEqual(await ids("seq2", at), ["b"]);
    assert.deepEqual(await ids("time", at), ["b"]);
    for (const [name, unacked] of [
      ["earliest", 3],
      ["latest", 0],
      ["seq2", 2],
      ["time", 2],
    ] as const) {
      assert.equal((await store.subscriptionCounters(name)).unacked, unacked, name);
    }
    assert.equal((await store.subscriptionCounters("seq2")).delayed, 1, "c is still delayed");
    await store.append("t", [rec("d")], at);
    for (const name of ["earliest", "latest", "seq2", "time"]) {
      assert.deepEqual(await ids(name, T0 + 600), name === "latest" ? ["d"] : ["c", "d"], name);
    }
    assert.equal((await store.topicCounters("t")).subscriptions, 5);
  });
}
