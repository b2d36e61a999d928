/** Conformance: retry backoff, max delivery attempts, dead letters and Redrive steps. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { DEAD_LETTER_ATTRIBUTES as A, type Store } from "../../../src/store/index.js";
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
  tokensOf,
  topicSettings,
} from "./helpers.js";

const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });
const failed = { failed: true } as const;

/** jobs → work (max 2 attempts, DLQ dlq) and audit; dlq has a subscription of its own. */
async function deadLetterSetup(store: Store, work: Parameters<typeof subSettings>[2] = {}): Promise<void> {
  await store.createTopic(topicSettings("jobs"), T0);
  await createQueue(store, "dlq");
  const settings = { maxDeliveryAttempts: 2, deadLetterTopic: "dlq", ...work };
  await store.createSubscription(subSettings("work", "jobs", settings), T0);
  await store.createSubscription(subSettings("audit", "jobs"), T0);
}

async function failTwice(store: Store, error = ""): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const tokens = tokensOf(await lease(store, "work", 10, T0));
    assert.ok(tokens.length > 0);
    await store.nack("work", byTokens(...tokens), T0, T0, { failed: true, error });
  }
}

export function deadLetterCases(factory: StoreFactory): void {
  it("retry - a failed nack without delay waits the backoff; a plain one (give-back) does not", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { retry: { minBackoffMs: 700, maxBackoffMs: 10_000 } });
    await store.append("q", recs(2), T0);
    const [a, b] = tokensOf(await lease(store, "q", 2, T0));
    assert.ok(a && b);
    assert.deepEqual(await store.nack("q", byTokens(a), T0, T0, failed), ["ok"]);
    assert.deepEqual(await store.nack("q", byTokens(b), T0, T0), ["ok"]);
    assert.deepEqual(
      (await lease(store, "q", 10, T0)).map((r) => r.message.id),
      ["m2"],
    );
    assert.equal(await store.nextDueMs("q"), T0 + 700);
    assert.equal((await store.subscriptionCounters("q")).delayed, 1);
    assert.deepEqual(
      (await lease(store, "q", 10, T0 + 700)).map((r) => [r.message.id, r.attempt]),
      [["m1", 2]],
    );
  });

  it("retry - an expired lease waits the backoff counted from its deadline", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", {}, { retry: { minBackoffMs: 3000, maxBackoffMs: 3000 } });
    await store.append("q", recs(1), T0);
    await lease(store, "q", 1, T0, 1000);
    assert.deepEqual(await lease(store, "q", 1, T0 + 1000), []);
    const c = await store.subscriptionCounters("q");
    assert.deepEqual([c.inFlight, c.delayed, c.unacked], [0, 1, 1]);
    assert.equal(await store.nextDueMs("q"), T0 + 4000);
    assert.deepEqual(await lease(store, "q", 1, T0 + 3999), []);
    assert.equal((await lease(store, "q", 1, T0 + 4000))[0]?.attempt, 2);
  });

  it("dead letter - max attempts moves the message to the DLQ in the same step, with its origin", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    await store.append("jobs", [rec("j1", { attributes: { k: "v" }, priority: 4, orderingKey: "ok" })], T0);
    await failTwice(store, "bad input");
    assert.deepEqual(await lease(store, "work", 10, T0), []);
    const [dl] = await lease(store, "dlq", 10, T0);
    assert.ok(dl);
    assert.equal(Buffer.from(dl.message.data).toString(), "j1");
    assert.equal(dl.message.priority, 4);
    assert.equal(dl.message.orderingKey, "ok");
    assert.deepEqual(dl.message.attributes, {
      k: "v",
      [A.sourceTopic]: "jobs",
      [A.sourceSubscription]: "work",
      [A.sourceSeq]: "1",
      [A.sourceId]: "j1",
      [A.attempts]: "2",
      [A.reason]: "nacked",
      [A.lastError]: "bad input",
    });
    assert.equal(await store.deadLettered("work"), 1);
    assert.equal((await store.subscriptionCounters("work")).unacked, 0);
    assert.equal((await store.subscriptionCounters("audit")).unacked, 1);
    assert.equal((await store.topicCounters("jobs")).messages, 1, "audit still holds it");
    await store.ack("audit", { tokens: [], messageIds: ["j1"] }, T0);
    assert.equal((await store.topicCounters("jobs")).messages, 0, "released once nobody holds it");
  });

  it("dead letter - an expired lease at max attempts is dead-lettered by the next lease call", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    await store.append("jobs", recs(1), T0);
    await lease(store, "work", 1, T0, 1000);
    await lease(store, "work", 1, T0 + 1000, 1000);
    assert.deepEqual(await lease(store, "work", 1, T0 + 2000), []);
    const [dl] = await lease(store, "dlq", 1, T0 + 2000);
    assert.equal(dl?.message.attributes[A.reason], "lease_expired");
    assert.equal(await store.deadLettered("work"), 1);
    assert.equal((await store.subscriptionCounters("work")).inFlight, 0);
  });

  it("dead letter - no DLQ set: dropped and counted; a missing DLQ: kept in place", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "drop", {}, { maxDeliveryAttempts: 1 });
    await createQueue(store, "keep", {}, { maxDeliveryAttempts: 1, deadLetterTopic: "missing" });
    for (const q of ["drop", "keep"]) {
      await store.append(q, recs(1), T0);
      await store.nack(q, byTokens(...tokensOf(await lease(store, q, 1, T0))), T0, T0, failed);
    }
    assert.deepEqual(await lease(store, "drop", 1, T0), []);
    assert.equal(await store.deadLettered("drop"), 1);
    assert.equal((await store.topicCounters("drop")).messages, 0);
    assert.equal((await lease(store, "keep", 1, T0))[0]?.attempt, 2);
    assert.equal(await store.deadLettered("keep"), 0);
  });

  it("redrive - moves a bounded step atomically; scan and count limits; the source subscription only", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    await store.append("jobs", recs(4), T0);
    await failTwice(store);
    await store.append("dlq", [rec("foreign")], T0);
    const filter = {};
    const first = await store.redrive(
      "work",
      { maxMessages: 10, filter, afterSeq: 0, untilSeq: 100, maxScan: 2 },
      T0 + 5,
    );
    assert.deepEqual(first, { moved: 2, lastSeq: 2, done: false });
    const rest = await store.redrive(
      "work",
      { maxMessages: 1, filter, afterSeq: 2, untilSeq: 100, maxScan: 100 },
      T0 + 5,
    );
    assert.deepEqual(rest, { moved: 1, lastSeq: 3, done: false });
    const last = await store.redrive(
      "work",
      { maxMessages: 10, filter, afterSeq: 3, untilSeq: 100, maxScan: 100 },
      T0 + 5,
    );
    assert.deepEqual(last, { moved: 1, lastSeq: 5, done: true });
    assert.equal((await store.subscriptionCounters("dlq")).unacked, 1);
    assert.equal((await store.topicCounters("dlq")).messages, 1);
    assert.equal((await store.subscriptionCounters("audit")).unacked, 4, "not fanned out again");
    const back = await lease(store, "work", 10, T0 + 5);
    assert.deepEqual(
      back.map((r) => [r.message.id, r.attempt, r.message.publishTimeMs, Object.keys(r.message.attributes).length]),
      ["m1", "m2", "m3", "m4"].map((id) => [id, 1, T0 + 5, 0]),
    );
    await store.ack("work", byTokens(...tokensOf(back)), T0 + 5);
    assert.equal((await store.subscriptionCounters("work")).unacked, 0);
  });

  it("redrive - looks no further than untilSeq (dead letters that arrive later wait for the next Redrive)", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    await store.append("jobs", recs(3), T0);
    await failTwice(store);
    const o = { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 2, maxScan: 100 };
    assert.deepEqual(await store.redrive("work", o, T0), { moved: 2, lastSeq: 2, done: true });
    assert.deepEqual(await store.redrive("work", { ...o, afterSeq: 2 }, T0), { moved: 0, lastSeq: 2, done: true });
    assert.equal((await store.subscriptionCounters("dlq")).unacked, 1);
  });

  it("redrive - by message id: the redriven copy is found once the original left the log", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("jobs"), T0);
    await createQueue(store, "dlq");
    await store.createSubscription(subSettings("work", "jobs", { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" }), T0);
    await store.append("jobs", [rec("client-id"), rec("")], T0);
    const leased = await lease(store, "work", 10, T0);
    const generated = leased[1]?.message.id ?? "";
    await store.nack("work", byTokens(...tokensOf(leased)), T0, T0, failed);
    assert.equal((await store.topicCounters("jobs")).messages, 0);
    const moved = await store.redrive(
      "work",
      { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 100, maxScan: 10 },
      T0,
    );
    assert.equal(moved.moved, 2);
    assert.deepEqual(await store.ack("work", { tokens: [], messageIds: ["client-id", generated] }, T0), ["ok", "ok"]);
  });

  it("redrive - refuses a subscription without a DLQ, or whose DLQ is gone, writing nothing", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    await store.append("jobs", recs(1), T0);
    await failTwice(store);
    const o = { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 100, maxScan: 10 };
    await expectReason(store.redrive("audit", o, T0), "NO_DEAD_LETTER_TOPIC");
    await expectReason(store.redrive("nope", o, T0), "SUBSCRIPTION_NOT_FOUND");
    await store.updateSubscription("work", subSettings("work", "jobs", { deadLetterTopic: "elsewhere" }));
    await expectReason(store.redrive("work", o, T0), "TOPIC_NOT_FOUND");
    assert.equal((await store.subscriptionCounters("dlq")).unacked, 1);
    assert.equal((await store.subscriptionCounters("work")).unacked, 0);
  });

  it("dead letter - the dead-lettered count survives a reopen", async (t) => {
    const h = await setup(t, factory);
    await deadLetterSetup(h.store);
    await h.store.append("jobs", recs(3), T0);
    await failTwice(h.store);
    assert.equal(await h.store.deadLettered("work"), 3);
    await h.store.close();
    const reopened = await h.reopen();
    assert.equal(await reopened.deadLettered("work"), 3);
    assert.equal((await reopened.subscriptionCounters("dlq")).unacked, 3);
  });
  it("dead letter - a DLQ whose every subscription filters the letter out keeps nothing, so the message stays", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("jobs"), T0);
    await store.createTopic(topicSettings("dlq"), T0);
    await store.createSubscription(subSettings("dlq-a", "dlq", { filter: { team: "a" } }), T0);
    await store.createSubscription(subSettings("work", "jobs", { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" }), T0);
    await store.append(
      "jobs",
      [rec("b1", { attributes: { team: "b" } }), rec("a1", { attributes: { team: "a" } })],
      T0,
    );
    const got = await lease(store, "work", 2, T0);
    assert.deepEqual(await store.nack("work", byTokens(...tokensOf(got)), T0, T0, failed), ["ok", "ok"]);
    // a1 passes dlq-a's filter and moves; b1 would be stored nowhere, so it stays on "work".
    assert.equal((await store.topicCounters("dlq")).messages, 1);
    assert.equal(await store.deadLettered("work"), 1);
    assert.equal((await store.topicCounters("jobs")).messages, 1);
    const c = await store.subscriptionCounters("work");
    assert.deepEqual([c.unacked, c.inFlight, c.delayed], [1, 0, 0]);
    const again = await lease(store, "work", 10, T0);
    assert.deepEqual(
      again.map((r) => [r.message.id, r.attempt]),
      [["b1", 2]],
    );
  });
  it("redrive - a source-id attribute too long to index is not taken as the id: the step completes", async (t) => {
    const { store } = await setup(t, factory);
    await deadLetterSetup(store);
    // A message on the DLQ that names "work" as its source, published there by hand.
    const attributes = { [A.sourceTopic]: "jobs", [A.sourceSubscription]: "work", [A.sourceId]: "x".repeat(2000) };
    await store.append("dlq", [rec("", { attributes })], T0);
    const step = await store.redrive(
      "work",
      { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 100, maxScan: 100 },
      T0,
    );
    assert.equal(step.moved, 1);
    assert.equal((await store.topicCounters("dlq")).messages, 0);
    const [back] = await lease(store, "work", 10, T0);
    assert.match(back?.message.id ?? "", /^sy-/, "a generated id");
    assert.deepEqual(back?.message.attributes, {}, "dead-letter attributes are dropped");
  });
  it("dead letter - a DLQ without subscriptions that retains messages keeps the letter (it would store it)", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("jobs"), T0);
    await store.createTopic(topicSettings("dlq", { retainAckedMs: 60_000 }), T0);
    await store.createSubscription(subSettings("work", "jobs", { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" }), T0);
    await store.append("jobs", [rec("j1")], T0);
    const got = await lease(store, "work", 1, T0);
    assert.deepEqual(await store.nack("work", byTokens(...tokensOf(got)), T0, T0, failed), ["ok"]);
    assert.equal((await store.topicCounters("jobs")).messages, 0);
    const page = await store.readLog("dlq", 1, 10, 1 << 20, T0);
    assert.deepEqual(
      page.messages.map((m) => m.attributes[A.sourceId]),
      ["j1"],
    );
    assert.equal(await store.deadLettered("work"), 1);
  });
}
