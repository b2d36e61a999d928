/** Conformance: ack/nack/extend by token and by message id, their outcomes, and subscription counters. */
import assert from "node:assert/strict";
import { it } from "node:test";
import type { Store } from "../../../src/store/index.js";
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
  tokensOf,
} from "./helpers.js";

const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });
const byIds = (...messageIds: string[]) => ({ tokens: [], messageIds });

async function oneLeased(store: Store, nowMs = T0, leaseMs = 1000): Promise<string> {
  const [r] = await lease(store, "q", 1, nowMs, leaseMs);
  assert.ok(r, "expected a message to lease");
  return r.token;
}

export function settleCases(factory: StoreFactory): void {
  it("settle - ack by token is ok once, then unknown; garbage is malformed", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(2), T0);
    const [a, b] = tokensOf(await lease(store, "q", 2, T0));
    assert.ok(a && b && a !== b);
    assert.deepEqual(await store.ack("q", byTokens(a), T0), ["ok"]);
    assert.deepEqual(await store.ack("q", byTokens(a), T0), ["unknown"]);
    const garbage = ["", "garbage", "1-1-1", "zzzzzzzzzzzzzzzz-1-1-0", "-1--1", `${a}x`, "1-0-1-0", "1-1-0-0"];
    assert.deepEqual(
      await store.ack("q", byTokens(...garbage), T0),
      garbage.map(() => "malformed"),
    );
    assert.deepEqual(await store.ack("q", byTokens("garbage", b, a), T0), ["malformed", "ok", "unknown"]);
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 0,
      inFlight: 0,
      delayed: 0,
      oldestUnackedPublishMs: 0,
    });
    assert.deepEqual(await lease(store, "q", 10, T0 + 5000), [], "acked messages never come back");
  });

  it("settle - concurrent acks of one token: exactly one is ok", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(1), T0);
    const token = await oneLeased(store);
    const outcomes = await Promise.all([1, 2, 3].map(() => store.ack("q", byTokens(token), T0)));
    assert.deepEqual(outcomes.flat().sort(), ["ok", "unknown", "unknown"]);
    assert.equal((await store.subscriptionCounters("q")).unacked, 0);
  });

  it("settle - a token of another subscription is malformed and settles nothing", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.createSubscription(subSettings("other", "q"), T0);
    await store.append("q", recs(1), T0);
    const [theirs] = tokensOf(await lease(store, "other", 1, T0));
    const mine = await oneLeased(store);
    for (const settle of [
      () => store.ack("q", byTokens(theirs ?? ""), T0),
      () => store.nack("q", byTokens(theirs ?? ""), T0, T0),
      () => store.extend("q", [theirs ?? ""], T0 + 9000, T0),
    ]) {
      assert.deepEqual(await settle(), ["malformed"]);
    }
    assert.deepEqual(await store.ack("other", byTokens(mine), T0), ["malformed"]);
    assert.equal((await store.subscriptionCounters("other")).inFlight, 1);
    assert.equal((await store.subscriptionCounters("q")).inFlight, 1);
  });

  it("settle - a token of a deleted subscription is malformed on its same-name successor", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(1), T0);
    const old = await oneLeased(store);
    await store.deleteSubscription("q");
    await store.createSubscription(subSettings("q", "q"), T0);
    await store.append("q", recs(1, "n"), T0);
    await oneLeased(store);
    assert.deepEqual(await store.ack("q", byTokens(old), T0), ["malformed"]);
  });

  it("settle - an old token after redelivery is stale; the new one works", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(1), T0);
    const first = await oneLeased(store, T0, 1000);
    const second = await oneLeased(store, T0 + 1001, 1000);
    assert.notEqual(first, second);
    assert.deepEqual(await store.ack("q", byTokens(first), T0 + 1002), ["stale"]);
    assert.deepEqual(await store.nack("q", byTokens(first), T0 + 1002, T0 + 1002), ["stale"]);
    assert.deepEqual(await store.extend("q", [first], T0 + 9000, T0 + 1002), ["stale"]);
    assert.equal((await store.subscriptionCounters("q")).inFlight, 1);
    assert.deepEqual(await store.ack("q", byTokens(second), T0 + 1002), ["ok"]);
    assert.deepEqual(await store.ack("q", byTokens(first), T0 + 1002), ["unknown"]);
  });

  it("settle - a lease that expired but was not handed out again can still be acked", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(2), T0);
    const [a, b] = tokensOf(await lease(store, "q", 2, T0, 1000));
    assert.deepEqual(await store.ack("q", byTokens(a ?? ""), T0 + 5000), ["ok"], "no call in between");
    // A peek makes the expired lease available again without leasing it.
    assert.deepEqual(seqsOf(await store.peek("q", 10, T0 + 5000)), [2]);
    assert.deepEqual(await store.ack("q", byTokens(b ?? ""), T0 + 5000), ["ok"], "after a peek");
    assert.deepEqual(await lease(store, "q", 10, T0 + 5000), []);
    assert.equal((await store.subscriptionCounters("q")).unacked, 0);
  });

  it("settle - ack by message id removes a message leased or not yet leased", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("a"), rec("b"), rec("c", { deliverAtMs: T0 + 1000 }), rec("d")], T0);
    await lease(store, "q", 1, T0);
    assert.deepEqual(await store.ack("q", byIds("a", "b", "c", "nope"), T0), ["ok", "ok", "ok", "unknown"]);
    assert.deepEqual(await store.ack("q", byIds("a"), T0), ["unknown"]);
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 1,
      inFlight: 0,
      delayed: 0,
      oldestUnackedPublishMs: T0,
    });
    assert.deepEqual(
      (await lease(store, "q", 10, T0 + 2000)).map((r) => r.message.id),
      ["d"],
    );
    assert.equal((await store.topicCounters("q")).messages, 1);
  });

  it("settle - outcomes follow the order of tokens, then message ids", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    const [t1] = tokensOf(await lease(store, "q", 1, T0));
    const out = await store.ack("q", { tokens: ["bad", t1 ?? ""], messageIds: ["m2", "zz", "m1"] }, T0);
    assert.deepEqual(out, ["malformed", "ok", "ok", "unknown", "unknown"]);
  });

  it("settle - nack without delay makes a message available again at once, attempt + 1", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    const got = await lease(store, "q", 3, T0, 60_000);
    assert.deepEqual(await store.nack("q", byTokens(got[1]?.token ?? ""), T0 + 5, T0 + 5), ["ok"]);
    assert.deepEqual(await store.nack("q", byIds("m3"), T0, T0 + 5), ["ok"], "redeliverAtMs ≤ now: at once");
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 3,
      inFlight: 1,
      delayed: 0,
      oldestUnackedPublishMs: T0,
    });
    const again = await lease(store, "q", 10, T0 + 6);
    assert.deepEqual(seqsOf(again), [2, 3]);
    assert.deepEqual(attemptsOf(again), [2, 2]);
  });

  it("settle - nack with redeliverAtMs: not available before, available from then on", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(2), T0);
    const token = await oneLeased(store, T0, 60_000);
    assert.deepEqual(await store.nack("q", byTokens(token), T0 + 500, T0), ["ok"]);
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 2,
      inFlight: 0,
      delayed: 1,
      oldestUnackedPublishMs: T0,
    });
    assert.equal(await store.nextDueMs("q"), T0 + 500);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 499)), [2]);
    assert.deepEqual(await lease(store, "q", 10, T0 + 499), []);
    const again = await lease(store, "q", 10, T0 + 500);
    assert.deepEqual(seqsOf(again), [1]);
    assert.deepEqual(attemptsOf(again), [2]);
    assert.deepEqual(await store.nack("q", byIds("nope"), T0, T0), ["unknown"]);
  });

  it("settle - extend moves the deadline", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(2), T0);
    const [a, b] = tokensOf(await lease(store, "q", 2, T0, 1000));
    assert.deepEqual(await store.extend("q", [a ?? "", "junk"], T0 + 5000, T0 + 500), ["ok", "malformed"]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 2000, 60_000)), [2], "only b's lease ran out");
    assert.deepEqual(await lease(store, "q", 10, T0 + 4999), []);
    assert.equal(await store.nextDueMs("q"), T0 + 5000);
    const again = await lease(store, "q", 10, T0 + 5000);
    assert.deepEqual([seqsOf(again), attemptsOf(again)], [[1], [2]]);
    assert.deepEqual(await store.extend("q", [b ?? ""], T0 + 9000, T0 + 5000), ["stale"]);
    assert.deepEqual(await store.ack("q", byTokens(again[0]?.token ?? ""), T0 + 5000), ["ok"]);
    assert.deepEqual(await store.extend("q", [again[0]?.token ?? ""], T0 + 9000, T0 + 5000), ["unknown"]);
  });

  it("settle - extend can also shorten a lease", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(1), T0);
    const token = await oneLeased(store, T0, 60_000);
    assert.deepEqual(await store.extend("q", [token], T0 + 100, T0), ["ok"]);
    assert.equal(await store.nextDueMs("q"), T0 + 100);
    assert.deepEqual(attemptsOf(await lease(store, "q", 1, T0 + 100)), [2]);
  });

  it("settle - subscriptionCounters track unacked, in flight, delayed and the oldest unacked", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("a"), rec("hi", { priority: 9 })], T0);
    await store.append("q", [rec("b"), rec("later", { deliverAtMs: T0 + 10_000 })], T0 + 100);
    await store.append("q", [rec("c")], T0 + 200);
    const counters = () => store.subscriptionCounters("q");
    assert.deepEqual(await counters(), { unacked: 5, inFlight: 0, delayed: 1, oldestUnackedPublishMs: T0 });
    await lease(store, "q", 2, T0 + 300);
    assert.deepEqual(await counters(), { unacked: 5, inFlight: 2, delayed: 1, oldestUnackedPublishMs: T0 });
    await store.ack("q", byIds("hi"), T0 + 300);
    assert.deepEqual(await counters(), { unacked: 4, inFlight: 1, delayed: 1, oldestUnackedPublishMs: T0 });
    await store.ack("q", byIds("a"), T0 + 300);
    assert.deepEqual(await counters(), { unacked: 3, inFlight: 0, delayed: 1, oldestUnackedPublishMs: T0 + 100 });
    await store.ack("q", byIds("b", "later"), T0 + 300);
    assert.deepEqual(await counters(), { unacked: 1, inFlight: 0, delayed: 0, oldestUnackedPublishMs: T0 + 200 });
    await store.ack("q", byIds("c"), T0 + 300);
    assert.deepEqual(await counters(), { unacked: 0, inFlight: 0, delayed: 0, oldestUnackedPublishMs: 0 });
  });

  it("settle - a message given back twice before its next delivery is handed out once", async (t) => {
    // Each way puts a message back on the cursor while it is available already (or moves it away
    // and back before a delivery takes it); one hand-out must still take it once, and auto-ack
    // count it out once (test/store/invariants-fuzz.test.ts, seeds 204 and 243).
    const { store } = await setup(t, factory);
    const ways: Record<string, (token: string) => Promise<unknown>> = {
      "nacked by id twice": async () => {
        await store.nack("q", byIds("m1"), T0, T0);
        await store.nack("q", byIds("m1"), T0, T0);
      },
      "nacked by id, then by id to later": async () => {
        await store.nack("q", byIds("m1"), T0, T0);
        await store.nack("q", byIds("m1"), T0 + 10, T0);
      },
      "nacked, extended, nacked again": async (token) => {
        await store.nack("q", byTokens(token), T0, T0);
        await store.extend("q", [token], T0 + 500, T0);
        await store.nack("q", byTokens(token), T0, T0);
      },
    };
    for (const ordered of [false, true]) {
      for (const [way, giveBack] of Object.entries(ways)) {
        const what = `${way}, ordered ${ordered}`;
        await createQueue(store, "q", {}, { ordered });
        await store.append(
          "q",
          ["a", "b", "c"].map((k, i) => rec(`m${i + 1}`, { orderingKey: k })),
          T0,
        );
        await giveBack(await oneLeased(store));
        const got = await store.lease("q", { max: 2, leaseMs: 1000, nowMs: T0 + 20, autoAck: true });
        assert.deepEqual(
          [seqsOf(got), attemptsOf(got)],
          [
            [1, 2],
            [2, 1],
          ],
          what,
        );
        assert.equal((await store.subscriptionCounters("q")).unacked, 1, what);
        assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 20)), [3], what);
        await store.deleteTopic("q");
      }
    }
  });
}
