/** Conformance: retain_acked, max_messages/max_bytes with reject or drop_oldest, max_age, the retention sweep. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../../../src/store/index.js";
import {
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

const byIds = (...messageIds: string[]) => ({ tokens: [], messageIds });
const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });

async function counters(store: Store, sub: string) {
  const { unacked, inFlight, delayed } = await store.subscriptionCounters(sub);
  return { unacked, inFlight, delayed };
}

export function retentionCases(factory: StoreFactory): void {
  it("retain_acked - acked messages stay for Read and Seek until the sweep after their retention", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { retainAckedMs: 1000 });
    await store.append("q", recs(3), T0);
    await store.ack("q", byTokens(...tokensOf(await lease(store, "q", 3, T0))), T0 + 10);
    assert.deepEqual(await counters(store, "q"), { unacked: 0, inFlight: 0, delayed: 0 });
    assert.deepEqual(await store.topicCounters("q"), { messages: 3, bytes: 6, lastSeq: 3, subscriptions: 1 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 10)), [], "acked is acked");
    assert.equal((await store.readLog("q", 1, 10, 1 << 20, T0 + 10)).messages.length, 3);
    await store.seek("q", { kind: "seq", seq: 2 }, T0 + 20);
    const again = await lease(store, "q", 10, T0 + 20);
    assert.deepEqual(
      [seqsOf(again), again.map((r) => r.attempt)],
      [
        [2, 3],
        [1, 1],
      ],
    );
    await store.ack("q", byTokens(...tokensOf(again)), T0 + 20);
    assert.deepEqual(await store.sweepRetention(T0 + 999, 100), { removed: 0, more: false, changedTopics: [] });
    assert.equal((await store.topicCounters("q")).messages, 3);
    assert.deepEqual(await store.sweepRetention(T0 + 1000, 100), { removed: 3, more: false, changedTopics: [] });
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 3, subscriptions: 1 });
    assert.deepEqual(await store.readLog("q", 1, 10, 1 << 20, T0 + 1000), { messages: [], nextSeq: 1, end: true });
  });

  it("retain_acked - a message acked after its retention leaves at once; the sweep is bounded", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { retainAckedMs: 100 });
    await store.append("q", recs(5), T0);
    await store.ack("q", byIds("m1"), T0 + 100);
    assert.equal((await store.topicCounters("q")).messages, 4);
    await store.ack("q", byIds("m2", "m3", "m4", "m5"), T0 + 50);
    assert.deepEqual(await store.sweepRetention(T0 + 100, 3), { removed: 3, more: true, changedTopics: [] });
    assert.deepEqual(await store.sweepRetention(T0 + 100, 3), { removed: 1, more: false, changedTopics: [] });
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 5, subscriptions: 1 });
  });

  it("retain_acked - a topic without subscriptions keeps what is published, for Read", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("log", { retainAckedMs: 1000 }), T0);
    await store.append("log", [rec("a"), rec("")], T0);
    const page = await store.readLog("log", 1, 10, 1 << 20, T0);
    assert.deepEqual(
      page.messages.map((m) => m.seq),
      [1, 2],
    );
    await store.createSubscription(subSettings("late", "log"), T0);
    assert.deepEqual(seqsOf(await lease(store, "late", 10, T0)), [1, 2], "an earliest subscription sees them");
    await store.sweepRetention(T0 + 1000, 100);
    assert.equal((await store.topicCounters("log")).messages, 2, "held by the new subscription");
  });

  it("retain_acked - unacked dedup: a retained (acked) id may be reused", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { retainAckedMs: 10_000, dedupScope: "unacked" });
    await store.append("q", [rec("job")], T0);
    assert.equal((await store.append("q", [rec("job")], T0))[0]?.duplicate, true);
    await store.ack("q", byIds("job"), T0);
    assert.deepEqual(await store.append("q", [rec("job")], T0), [{ seq: 2, id: "job", duplicate: false }]);
  });

  it("limits - reject: an append over max_messages or max_bytes is BACKLOG_FULL and stores nothing", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxMessages: 3 });
    await store.append("q", recs(3), T0);
    await expectReason(store.append("q", [rec("x")], T0), "BACKLOG_FULL");
    assert.deepEqual(
      await store.append("q", [rec("m1")], T0),
      [{ seq: 1, id: "m1", duplicate: true }],
      "duplicates store nothing, so they pass",
    );
    await store.ack("q", byIds("m1"), T0);
    await expectReason(store.append("q", recs(2, "y"), T0), "BACKLOG_FULL");
    assert.deepEqual(await store.topicCounters("q"), { messages: 2, bytes: 4, lastSeq: 3, subscriptions: 1 });
    assert.equal((await store.append("q", [rec("z")], T0))[0]?.seq, 4);
    await createQueue(store, "b", { maxBytes: 10 });
    await store.append("b", [rec("a", { data: Buffer.alloc(6) })], T0);
    await expectReason(store.append("b", [rec("b", { data: Buffer.alloc(5) })], T0), "BACKLOG_FULL");
    await store.append("b", [rec("c", { data: Buffer.alloc(4) })], T0);
    assert.deepEqual(await store.topicCounters("b"), { messages: 2, bytes: 10, lastSeq: 2, subscriptions: 1 });
  });

  it("limits - drop_oldest: the oldest leave the log and every subscription, leased or not, counters exact", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxMessages: 3, overflow: "drop_oldest" });
    await store.createSubscription(subSettings("other", "q"), T0);
    await store.append("q", [...recs(2), rec("d", { deliverAtMs: T0 + 1000 })], T0);
    const [first] = tokensOf(await lease(store, "q", 1, T0));
    await store.append("q", recs(2, "n"), T0);
    assert.deepEqual(await store.topicCounters("q"), { messages: 3, bytes: 5, lastSeq: 5, subscriptions: 2 });
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 1 });
    assert.deepEqual(await counters(store, "other"), { unacked: 3, inFlight: 0, delayed: 1 });
    assert.deepEqual(await store.ack("q", byTokens(first as string), T0), ["unknown"]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [4, 5]);
    // A batch larger than the limit keeps its newest messages.
    await store.append("q", recs(4, "z"), T0);
    assert.deepEqual(seqsOf(await lease(store, "other", 10, T0 + 1000)), [7, 8, 9]);
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 0 });
    assert.deepEqual(await store.topicCounters("q"), { messages: 3, bytes: 6, lastSeq: 9, subscriptions: 2 });
  });

  it("limits - drop_oldest by bytes", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxBytes: 10, overflow: "drop_oldest" });
    await store.append("q", [rec("a", { data: Buffer.alloc(6) }), rec("b", { data: Buffer.alloc(4) })], T0);
    await store.append("q", [rec("c", { data: Buffer.alloc(3) })], T0);
    assert.deepEqual(await store.topicCounters("q"), { messages: 2, bytes: 7, lastSeq: 3, subscriptions: 1 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2, 3]);
  });

  it("limits - max_age: old messages leave at the next append or sweep, from every subscription", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxAgeMs: 100 });
    await store.append("q", recs(2), T0);
    await store.append("q", recs(1, "n"), T0 + 50);
    await lease(store, "q", 1, T0 + 50);
    await store.append("q", recs(1, "p"), T0 + 100);
    assert.deepEqual(await store.topicCounters("q"), { messages: 2, bytes: 4, lastSeq: 4, subscriptions: 1 });
    assert.deepEqual(await counters(store, "q"), { unacked: 2, inFlight: 0, delayed: 0 });
    assert.deepEqual(await store.sweepRetention(T0 + 149, 100), { removed: 0, more: false, changedTopics: [] });
    assert.deepEqual(await store.sweepRetention(T0 + 150, 100), { removed: 1, more: false, changedTopics: ["q"] });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 150)), [4]);
    assert.deepEqual(await store.sweepRetention(T0 + 200, 100), { removed: 1, more: false, changedTopics: ["q"] });
    assert.deepEqual(await counters(store, "q"), { unacked: 0, inFlight: 0, delayed: 0 });
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 4, subscriptions: 1 });
  });

  it("limits - reject counts messages past max age as gone", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { maxMessages: 2, maxAgeMs: 100 });
    await store.append("q", recs(2), T0);
    await expectReason(store.append("q", [rec("x")], T0 + 99), "BACKLOG_FULL");
    assert.equal((await store.append("q", [rec("x")], T0 + 100))[0]?.seq, 3);
    assert.deepEqual(await store.topicCounters("q"), { messages: 1, bytes: 1, lastSeq: 3, subscriptions: 1 });
  });

  it("limits - a limit lowered by updateTopic applies at the next sweep; removing it stops the sweep", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(5), T0);
    assert.deepEqual(await store.sweepRetention(T0, 100), { removed: 0, more: false, changedTopics: [] });
    await store.updateTopic("q", topicSettings("q", { maxMessages: 2, overflow: "drop_oldest" }));
    assert.deepEqual(await store.sweepRetention(T0, 100), { removed: 3, more: false, changedTopics: ["q"] });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [4, 5]);
    assert.equal(await store.hasRetentionWork(), true);
    await store.updateTopic("q", topicSettings("q"));
    assert.equal(await store.hasRetentionWork(), false);
  });
}
