/** Conformance: Seek (seq, time, snapshot), snapshots, readLog and seqAtTime. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { BrokerError } from "../../../src/errors/index.js";
import type { Store } from "../../../src/store/index.js";
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

const byIds = (...messageIds: string[]) => ({ tokens: [], messageIds });
const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });

async function counters(store: Store, sub: string) {
  const { unacked, inFlight, delayed } = await store.subscriptionCounters(sub);
  return { unacked, inFlight, delayed };
}

/** Topic "t" with subscriptions "a" and "keeper" (which holds everything, so acks of "a" keep messages stored). */
async function twoSubs(store: Store, n: number): Promise<void> {
  await store.createTopic(topicSettings("t"), T0);
  await store.createSubscription(subSettings("a", "t"), T0);
  await store.createSubscription(subSettings("keeper", "t"), T0);
  if (n > 0) await store.append("t", recs(n), T0);
}

export function replayCases(factory: StoreFactory): void {
  it("seek - to a seq: that seq and every later stored message are available again, earlier ones acked", async (t) => {
    const { store } = await setup(t, factory);
    await twoSubs(store, 5);
    await store.ack("a", byIds("m1", "m2", "m3", "m4", "m5"), T0);
    assert.deepEqual(await counters(store, "a"), { unacked: 0, inFlight: 0, delayed: 0 });
    await store.seek("a", { kind: "seq", seq: 3 }, T0);
    assert.deepEqual(await counters(store, "a"), { unacked: 3, inFlight: 0, delayed: 0 });
    const got = await lease(store, "a", 10, T0);
    assert.deepEqual(seqsOf(got), [3, 4, 5]);
    assert.deepEqual(attemptsOf(got), [1, 1, 1], "a replayed message is a first delivery");
    await store.seek("a", { kind: "seq", seq: 1 }, T0);
    assert.deepEqual(await counters(store, "a"), { unacked: 5, inFlight: 3, delayed: 0 }, "leases of 3..5 stay");
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0)), [1, 2]);
    // Every message is still held by "keeper" as well: nothing left the log.
    assert.equal((await store.topicCounters("t")).messages, 5);
  });

  it("seek - forward: earlier messages are acked and leave the log; leases at or after the seq stay", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(5), T0);
    const leased = await lease(store, "q", 3, T0);
    await store.seek("q", { kind: "seq", seq: 2 }, T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 4, inFlight: 2, delayed: 0 });
    const [t1, t2] = tokensOf(leased);
    assert.deepEqual(await store.ack("q", byTokens(t1 as string, t2 as string), T0), ["unknown", "ok"]);
    assert.deepEqual(await store.topicCounters("q"), { messages: 3, bytes: 6, lastSeq: 5, subscriptions: 1 });
    await store.seek("q", { kind: "seq", seq: 6 }, T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 0, inFlight: 0, delayed: 0 });
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 5, subscriptions: 1 });
    await store.append("q", recs(1, "n"), T0);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [6], "later messages arrive as usual");
  });

  it("seek - a seq past the next one, or 0, is INVALID_ARGUMENT and changes nothing", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    await expectReason(store.seek("q", { kind: "seq", seq: 5 }, T0), "INVALID_ARGUMENT");
    await expectReason(store.seek("q", { kind: "seq", seq: 0 }, T0), "INVALID_ARGUMENT");
    await expectReason(store.seek("nope", { kind: "seq", seq: 1 }, T0), "SUBSCRIPTION_NOT_FOUND");
    await expectReason(store.seek("q", { kind: "snapshot", name: "nope" }, T0), "SNAPSHOT_NOT_FOUND");
    assert.deepEqual(await counters(store, "q"), { unacked: 3, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [1, 2, 3]);
  });

  it("seek - replayed messages keep their priority order and their delay", async (t) => {
    const { store } = await setup(t, factory);
    await twoSubs(store, 0);
    await store.append("t", [rec("low"), rec("high", { priority: 7 }), rec("later", { deliverAtMs: T0 + 500 })], T0);
    await store.ack("a", byIds("low", "high", "later"), T0);
    await store.seek("a", { kind: "seq", seq: 1 }, T0 + 100);
    assert.deepEqual(await counters(store, "a"), { unacked: 3, inFlight: 0, delayed: 1 });
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0 + 100)), [2, 1]);
    assert.equal(await store.nextDueMs("a"), T0 + 500);
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0 + 500)), [3]);
  });

  it("seek - offers only what the subscription's filter passes; ordering keys flow again after a seek", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t", { retainAckedMs: 60_000 }), T0);
    await store.createSubscription(subSettings("only-a", "t", { filter: { kind: "a" }, ordered: true }), T0);
    const a = (id: string) => rec(id, { attributes: { kind: "a" }, orderingKey: "k" });
    await store.append("t", [a("a1"), rec("b1", { attributes: { kind: "b" } }), a("a2")], T0);
    const first = await lease(store, "only-a", 10, T0);
    assert.deepEqual(seqsOf(first), [1], "one in flight per ordering key");
    await store.seek("only-a", { kind: "seq", seq: 2 }, T0);
    assert.deepEqual(await counters(store, "only-a"), { unacked: 1, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "only-a", 10, T0)), [3], "the key's lock left with seq 1");
    await store.seek("only-a", { kind: "seq", seq: 1 }, T0);
    assert.deepEqual(await counters(store, "only-a"), { unacked: 2, inFlight: 1, delayed: 0 }, "never b1");
  });

  it("seqAtTime - the first stored seq published at or after a time, lastSeq + 1 past the end", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    for (let i = 0; i < 20; i++) await store.append("q", [rec(`m${i + 1}`)], T0 + i * 10);
    assert.equal(await store.seqAtTime("q", 0), 1);
    assert.equal(await store.seqAtTime("q", T0), 1);
    assert.equal(await store.seqAtTime("q", T0 + 1), 2);
    assert.equal(await store.seqAtTime("q", T0 + 100), 11);
    assert.equal(await store.seqAtTime("q", T0 + 190), 20);
    assert.equal(await store.seqAtTime("q", T0 + 191), 21);
    await store.ack("q", byIds("m1", "m2", "m3", "m11", "m12"), T0);
    assert.equal(await store.seqAtTime("q", 0), 4, "only stored messages count");
    assert.equal(await store.seqAtTime("q", T0 + 100), 13);
    await expectReason(store.seqAtTime("nope", T0), "TOPIC_NOT_FOUND");
  });

  it("seek - to a time: the first message published at or after it, and later ones", async (t) => {
    const { store } = await setup(t, factory);
    await twoSubs(store, 0);
    for (let i = 0; i < 5; i++) await store.append("t", [rec(`m${i + 1}`)], T0 + i * 100);
    await store.ack("a", byIds("m1", "m2", "m3", "m4", "m5"), T0 + 500);
    await store.seek("a", { kind: "time", timeMs: T0 + 250 }, T0 + 500);
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0 + 500)), [4, 5]);
    await store.seek("a", { kind: "time", timeMs: T0 + 10_000 }, T0 + 500);
    assert.deepEqual(await counters(store, "a"), { unacked: 0, inFlight: 0, delayed: 0 }, "a future time acks all");
  });

  it("snapshot - restores the captured ack state; it keeps its messages in the log until deleted", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    await store.ack("q", byIds("m1"), T0);
    const snap = await store.createSnapshot("s1", "q", T0 + 5);
    assert.deepEqual(
      { ...snap, id: 0, topicId: 0 },
      { id: 0, topicId: 0, name: "s1", subscription: "q", topic: "q", createTimeMs: T0 + 5, lastSeq: 3, messages: 2 },
    );
    await store.ack("q", byIds("m2", "m3"), T0);
    assert.equal((await store.topicCounters("q")).messages, 2, "m2 and m3 stay for the snapshot");
    await store.append("q", recs(2, "n"), T0);
    await store.seek("q", { kind: "snapshot", name: "s1" }, T0);
    assert.deepEqual(await counters(store, "q"), { unacked: 4, inFlight: 0, delayed: 0 });
    const got = await lease(store, "q", 10, T0);
    assert.deepEqual(seqsOf(got), [2, 3, 4, 5]);
    await store.ack("q", byTokens(...tokensOf(got)), T0);
    assert.equal((await store.topicCounters("q")).messages, 2, "still kept by the snapshot");
    await store.deleteSnapshot("s1", T0);
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 5, subscriptions: 1 });
    await expectReason(store.deleteSnapshot("s1", T0), "SNAPSHOT_NOT_FOUND");
  });

  it("snapshot - a Seek back acks what was acked at capture, even if unacked since", async (t) => {
    const { store } = await setup(t, factory);
    await twoSubs(store, 4);
    await store.ack("a", byIds("m1", "m2"), T0);
    await store.createSnapshot("s", "a", T0);
    await store.seek("a", { kind: "seq", seq: 1 }, T0);
    assert.equal((await counters(store, "a")).unacked, 4);
    await store.seek("a", { kind: "snapshot", name: "s" }, T0);
    assert.deepEqual(await counters(store, "a"), { unacked: 2, inFlight: 0, delayed: 0 });
    assert.deepEqual(seqsOf(await lease(store, "a", 10, T0)), [3, 4]);
  });

  it("snapshot - names are unique; list by subscription or all, in name order, paginated", async (t) => {
    const { store } = await setup(t, factory);
    await twoSubs(store, 1);
    await store.createSnapshot("b-snap", "a", T0);
    await store.createSnapshot("a-snap", "keeper", T0);
    await store.createSnapshot("c-snap", "a", T0);
    await expectReason(store.createSnapshot("b-snap", "keeper", T0), "ALREADY_EXISTS");
    await expectReason(store.createSnapshot("x", "nope", T0), "SUBSCRIPTION_NOT_FOUND");
    const names = (list: { name: string }[]) => list.map((s) => s.name);
    assert.deepEqual(names(await store.listSnapshots("", "", 10)), ["a-snap", "b-snap", "c-snap"]);
    assert.deepEqual(names(await store.listSnapshots("", "a-snap", 1)), ["b-snap"]);
    assert.deepEqual(names(await store.listSnapshots("a", "", 10)), ["b-snap", "c-snap"]);
    assert.deepEqual(names(await store.listSnapshots("a", "b-snap", 10)), ["c-snap"]);
    await expectReason(store.listSnapshots("nope", "", 10), "SUBSCRIPTION_NOT_FOUND");
    // Snapshots outlive their subscription, and go with their topic.
    await store.deleteSubscription("a");
    assert.deepEqual(names(await store.listSnapshots("", "", 10)), ["a-snap", "b-snap", "c-snap"]);
    await store.deleteTopic("t");
    assert.deepEqual(await store.listSnapshots("", "", 10), []);
    await twoSubs(store, 0);
    await store.createSnapshot("b-snap", "a", T0);
  });

  it("snapshot - a Seek to a snapshot of another topic is answered as one to a missing snapshot", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await createQueue(store, "secret-other");
    await store.append("q", recs(2), T0);
    await store.createSnapshot("other-snap", "secret-other", T0);
    const refusal = async (name: string) => {
      try {
        await store.seek("q", { kind: "snapshot", name }, T0);
      } catch (e) {
        const { reason, message, metadata } = e as BrokerError;
        return {
          reason,
          message: message.replaceAll(`"${name}"`, '"NAME"'),
          metadata: { ...metadata, snapshot: "NAME" },
        };
      }
      return assert.fail("the Seek succeeded");
    };
    const other = await refusal("other-snap");
    assert.deepEqual(other, await refusal("no-such-snapshot"), "the same answer as for a snapshot that does not exist");
    assert.equal(other.reason, "SNAPSHOT_NOT_FOUND");
    assert.ok(!JSON.stringify(other).includes("secret-other"), "the other topic is not named");
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [1, 2]);
  });

  it("readLog - pages of stored messages from a seq, bounded by count and bytes, skipping expired ones", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append(
      "q",
      [...recs(3), rec("ttl", { expireAtMs: T0 + 10 }), rec("big", { data: Buffer.alloc(100) })],
      T0,
    );
    const ids = (p: { messages: { id: string }[] }) => p.messages.map((m) => m.id);
    const all = await store.readLog("q", 1, 10, 1 << 20, T0);
    assert.deepEqual(ids(all), ["m1", "m2", "m3", "ttl", "big"]);
    assert.deepEqual([all.nextSeq, all.end], [6, true]);
    const page = await store.readLog("q", 2, 2, 1 << 20, T0);
    assert.deepEqual([ids(page), page.nextSeq, page.end], [["m2", "m3"], 4, false]);
    const later = await store.readLog("q", 4, 10, 1 << 20, T0 + 10);
    assert.deepEqual([ids(later), later.nextSeq], [["big"], 6], "past its TTL: skipped");
    const small = await store.readLog("q", 1, 10, 4, T0);
    assert.deepEqual([ids(small), small.nextSeq, small.end], [["m1", "m2"], 3, false], "stops at the byte bound");
    const one = await store.readLog("q", 5, 10, 1, T0);
    assert.deepEqual(ids(one), ["big"], "one message larger than the bound still goes");
    assert.deepEqual(await store.readLog("q", 6, 10, 1 << 20, T0), { messages: [], nextSeq: 6, end: true });
    await expectReason(store.readLog("nope", 1, 10, 100, T0), "TOPIC_NOT_FOUND");
    assert.equal((await counters(store, "q")).unacked, 5, "reads lease nothing");
  });

  it("snapshot and seek state survive a reopen", async (t) => {
    const h = await setup(t, factory);
    await createQueue(h.store, "q");
    await h.store.append("q", recs(3), T0);
    await h.store.createSnapshot("s", "q", T0);
    await h.store.ack("q", byIds("m1", "m2", "m3"), T0);
    await h.store.close();
    const after = await h.reopen();
    assert.equal((await after.listSnapshots("q", "", 10))[0]?.messages, 3);
    await after.seek("q", { kind: "snapshot", name: "s" }, T0);
    assert.deepEqual(seqsOf(await lease(after, "q", 10, T0)), [1, 2, 3]);
  });
}
