/**
 * Conformance: ordered subscriptions keep one message per ordering key available (the key's
 * head) and the rest in line behind it; every way the head can leave passes the key on, and the
 * counters (waiting messages are backlog, nothing else) and oldest-unacked stat stay exact.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../../../src/store/index.js";
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
const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });
const byIds = (...messageIds: string[]) => ({ tokens: [], messageIds });

async function counters(store: Store, sub: string) {
  const { unacked, inFlight, delayed } = await store.subscriptionCounters(sub);
  return { unacked, inFlight, delayed };
}

export function orderedLinesCases(factory: StoreFactory): void {
  it("ordered - a free key behind 11,000 messages of a busy key goes out next (no scan limit starves it)", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    for (let b = 0; b < 11; b++) {
      const batch = Array.from({ length: 1000 }, (_, i) => keyed(`h${b}-${i}`, "hot"));
      await store.append("q", batch, T0);
    }
    await store.append("q", [keyed("cold", "cold")], T0);
    assert.deepEqual(
      (await lease(store, "q", 1, T0, 60_000)).map((r) => r.message.id),
      ["h0-0"],
    );
    assert.deepEqual(
      (await lease(store, "q", 10, T0, 60_000)).map((r) => r.message.id),
      ["cold"],
    );
    assert.deepEqual(await lease(store, "q", 10, T0, 60_000), []);
    assert.deepEqual(await counters(store, "q"), { unacked: 11_001, inFlight: 2, delayed: 0 });
  });

  it("ordered - waiting messages count as backlog only; an ack passes the key on, exactly", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A")], T0);
    await store.append("q", [keyed("a3", "A")], T0 + 10);
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 0 });
    const [a1] = await lease(store, "q", 10, T0);
    assert.equal(a1?.message.id, "a1");
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 1, delayed: 0 });
    assert.deepEqual(await store.ack("q", byTokens(a1?.token as string), T0), ["ok"]);
    assert.deepEqual(await counters(store, "q"), { unacked: 2, inFlight: 0, delayed: 0 });
    assert.equal((await store.subscriptionCounters("q")).oldestUnackedPublishMs, T0);
    // Ack by id reaches a message still in line: it leaves, the line closes up.
    assert.deepEqual(await store.ack("q", byIds("a3"), T0), ["ok"]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
    assert.deepEqual(await counters(store, "q"), { unacked: 1, inFlight: 1, delayed: 0 });
  });

  it("ordered - a message leaving from the middle of a key's line (ack by id, TTL) closes it up", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    const batch = [keyed("a1", "A"), keyed("a2", "A"), rec("a3", { orderingKey: "A", expireAtMs: T0 + 500 })];
    await store.append("q", [...batch, keyed("a4", "A"), keyed("a5", "A"), keyed("ab1", "AB")], T0);
    assert.deepEqual(await store.ack("q", byIds("a2", "a5"), T0), ["ok", "ok"]);
    assert.deepEqual(await counters(store, "q"), { unacked: 4, inFlight: 0, delayed: 0 });
    assert.deepEqual((await store.sweepRetention(T0 + 600, 100)).removed, 1, "a3 expires in line");
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 0 });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const got = await lease(store, "q", 10, T0 + 600);
      order.push(got.map((r) => r.message.id).join("+"));
      await store.ack("q", byTokens(...tokensOf(got)), T0 + 600);
    }
    assert.deepEqual(order, ["a1+ab1", "a4", "", ""], "key AB (A is its prefix) is a line of its own");
  });

  it("ordered - within a key seq order (not priority); across keys priority then seq", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    const p = (id: string, orderingKey: string, priority: number) => rec(id, { orderingKey, priority });
    await store.append("q", [p("a1", "A", 0), p("a2", "A", 9), p("b1", "B", 5)], T0);
    const first = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(first), [3, 1], "B's head has the higher priority; a2 waits for a1");
    await store.ack("q", byTokens(...tokensOf(first)), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
  });

  it("ordered - a key's head with a deliver time holds the key until it is delivered and acked", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [rec("a1", { orderingKey: "A", deliverAtMs: T0 + 500 }), keyed("a2", "A")], T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 2, inFlight: 0, delayed: 1 });
    assert.deepEqual(await lease(store, "q", 10, T0), []);
    const [a1] = await lease(store, "q", 10, T0 + 500);
    assert.equal(a1?.message.id, "a1");
    await store.ack("q", byTokens(a1?.token as string), T0 + 500);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 500)), [2]);
  });

  it("ordered - the TTL sweep dropping the head passes the key on", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [rec("a1", { orderingKey: "A", expireAtMs: T0 + 500 }), keyed("a2", "A")], T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0, 60_000)), [1]);
    assert.deepEqual((await store.sweepRetention(T0 + 600, 100)).removed, 1);
    assert.deepEqual(await counters(store, "q"), { unacked: 1, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 600)), [2]);
  });

  it("ordered - dead-lettering the head passes the key on; the dead letter keeps its key", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("jobs"), T0);
    await createQueue(store, "dlq", {}, { ordered: true });
    const work = { ordered: true, maxDeliveryAttempts: 1, deadLetterTopic: "dlq" };
    await store.createSubscription(subSettings("work", "jobs", work), T0);
    await store.append("jobs", [keyed("a1", "A"), keyed("a2", "A"), keyed("a3", "A")], T0);
    const [a1] = await lease(store, "work", 10, T0);
    assert.equal(a1?.message.id, "a1");
    await store.nack("work", byTokens(a1?.token as string), T0, T0, { failed: true });
    assert.deepEqual(await counters(store, "work"), { unacked: 2, inFlight: 0, delayed: 0 });
    const [a2] = await lease(store, "work", 10, T0);
    assert.equal(a2?.message.id, "a2");
    // The expired lease of a2 dead-letters it too: a3 is next.
    assert.deepEqual(seqsOf(await lease(store, "work", 10, T0 + 2000)), [3]);
    assert.equal(await store.deadLettered("work"), 2);
    assert.deepEqual(await counters(store, "dlq"), { unacked: 2, inFlight: 0, delayed: 0 });
    const letters = await lease(store, "dlq", 10, T0 + 2000);
    assert.equal(letters.length, 1, "the dead letters keep key A: one at a time on an ordered subscription");
    assert.equal(letters[0]?.message.orderingKey, "A");
  });

  it("ordered - drop_oldest dropping the head (or a waiting message) passes the key on", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxMessages: 2, overflow: "drop_oldest" }, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A")], T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [1]);
    await store.append("q", [keyed("a3", "A")], T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 2, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
    await store.append("q", [keyed("b1", "B")], T0); // drops a2 (in flight): a3 is next
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [3, 4]);
    await store.append("q", [keyed("a4", "A"), keyed("a5", "A")], T0); // drops a3 and b1, then a4 waits
    assert.deepEqual(await counters(store, "q"), { unacked: 2, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [5]);
  });

  it("ordered - Seek to a seq lines each key up again from its lowest seq; counters stay exact", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { retainAckedMs: 60_000 }, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A")], T0);
    await store.append("q", [keyed("b1", "B"), keyed("a3", "A")], T0 + 10);
    const first = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(first), [1, 3]);
    await store.ack("q", byTokens(...tokensOf(first)), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
    await store.seek("q", { kind: "seq", seq: 4 }, T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 1, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [4], "a2 left with the seek: a3 heads A");
    await store.seek("q", { kind: "seq", seq: 1 }, T0);
    // a3 stays in flight (its lease is good); a1 and a2 wait behind it; b1 is B's head.
    assert.deepEqual(await counters(store, "q"), { unacked: 4, inFlight: 1, delayed: 0 });
    assert.equal((await store.subscriptionCounters("q")).oldestUnackedPublishMs, T0, "a1, waiting behind a3");
    const [b1, ...none] = await lease(store, "q", 10, T0);
    assert.deepEqual([b1?.message.id, none.length], ["b1", 0]);
    await store.ack("q", byIds("a3"), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [1], "then A again from its lowest seq");
  });

  it("ordered - Seek to a snapshot restores the lines of the snapshot's messages", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { ordered: true });
    await store.append("q", [keyed("a1", "A"), keyed("a2", "A"), keyed("b1", "B")], T0);
    const [a1] = await lease(store, "q", 1, T0);
    await store.createSnapshot("snap", "q", T0);
    await store.ack("q", byTokens(a1?.token as string), T0);
    const rest = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(rest), [2, 3]);
    await store.ack("q", byTokens(...tokensOf(rest)), T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 0, inFlight: 0, delayed: 0 });
    await store.seek("q", { kind: "snapshot", name: "snap" }, T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 0 });
    const again = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(again), [1, 3], "a2 waits behind a1 again");
    await store.ack("q", byTokens(...tokensOf(again)), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2]);
  });

  it("ordered - a redriven message goes in line behind its key's message in flight", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("jobs"), T0);
    await createQueue(store, "dlq");
    const work = { ordered: true, maxDeliveryAttempts: 1, deadLetterTopic: "dlq" };
    await store.createSubscription(subSettings("work", "jobs", work), T0);
    await store.append("jobs", [keyed("a1", "A"), keyed("a2", "A")], T0);
    const [a1] = await lease(store, "work", 10, T0);
    await store.nack("work", byTokens(a1?.token as string), T0, T0, { failed: true });
    const [a2] = await lease(store, "work", 10, T0);
    assert.equal(a2?.message.id, "a2");
    const o = { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 10, maxScan: 100 };
    assert.equal((await store.redrive("work", o, T0)).moved, 1);
    assert.deepEqual(await counters(store, "work"), { unacked: 2, inFlight: 1, delayed: 0 });
    assert.deepEqual(await lease(store, "work", 10, T0), [], "a1's copy waits for a2");
    await store.ack("work", byTokens(a2?.token as string), T0);
    assert.deepEqual(
      (await lease(store, "work", 10, T0)).map((r) => [r.message.id, r.message.seq, r.attempt]),
      [["a1", 3, 1]],
    );
  });

  it("ordered - a subscription created from earliest lines up the stored keyed messages", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("keep", "t"), T0);
    await store.append("t", [keyed("a1", "A"), keyed("a2", "A"), keyed("b1", "B"), rec("n1"), keyed("a3", "A")], T0);
    await store.createSubscription(subSettings("late", "t", { ordered: true, start: { kind: "earliest" } }), T0);
    assert.deepEqual(await counters(store, "late"), { unacked: 5, inFlight: 0, delayed: 0 });
    const first = await lease(store, "late", 10, T0);
    assert.deepEqual(seqsOf(first), [1, 3, 4]);
    await store.ack("late", byTokens(...tokensOf(first)), T0);
    assert.deepEqual(seqsOf(await lease(store, "late", 10, T0)), [2]);
  });

  it("ordered - deleting or purging a subscription's topic releases the messages in line", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("o", "t", { ordered: true }), T0);
    await store.append("t", [keyed("a1", "A"), keyed("a2", "A"), keyed("a3", "A")], T0);
    await store.deleteSubscription("o");
    assert.equal((await store.topicCounters("t")).messages, 0, "waiting messages were released too");
    await store.createSubscription(subSettings("o", "t", { ordered: true }), T0);
    await store.append("t", [keyed("a4", "A"), keyed("a5", "A")], T0);
    assert.equal(await store.purgeTopic("t"), 2);
    assert.deepEqual(await counters(store, "o"), { unacked: 0, inFlight: 0, delayed: 0 });
    await store.append("t", [keyed("a6", "A")], T0);
    assert.deepEqual(seqsOf(await lease(store, "o", 10, T0)), [6], "the purge freed key A");
  });
}
