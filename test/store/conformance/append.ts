/** Conformance: append (seqs, dedup, fan-out, topics without subscriptions) and message round trips. */
import assert from "node:assert/strict";
import { it } from "node:test";
import { BrokerError } from "../../../src/errors/index.js";
import type { AppendRecord } from "../../../src/store/index.js";
import {
  assertBytes,
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
  topicSettings,
} from "./helpers.js";

export function appendCases(factory: StoreFactory): void {
  it("append - seqs are contiguous from 1 across calls", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const first = await store.append("q", recs(3, "a"), T0);
    assert.deepEqual(first, [
      { seq: 1, id: "a1", duplicate: false },
      { seq: 2, id: "a2", duplicate: false },
      { seq: 3, id: "a3", duplicate: false },
    ]);
    const second = await store.append("q", recs(2, "b"), T0 + 1);
    assert.deepEqual(
      second.map((r) => r.seq),
      [4, 5],
    );
    assert.equal((await store.topicCounters("q")).lastSeq, 5);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 2)), [1, 2, 3, 4, 5]);
  });

  it("append - 50 concurrent appends get distinct, contiguous seqs", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const pending: Promise<{ seq: number }[]>[] = [];
    for (let i = 0; i < 50; i++) pending.push(store.append("q", [rec(`c${i}`)], T0));
    const seqs = (await Promise.all(pending)).map(([r]) => r?.seq ?? -1);
    assert.deepEqual(
      [...seqs].sort((a, b) => a - b),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const counters = await store.topicCounters("q");
    assert.equal(counters.lastSeq, 50);
    assert.equal(counters.messages, 50);
    const leased = await lease(store, "q", 100, T0);
    assert.equal(leased.length, 50);
    for (const r of leased) assert.equal(r.message.seq, seqs[Number(r.message.id.slice(1))], r.message.id);
  });

  it("append - a topic without subscriptions stores nothing but still counts seqs", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    assert.deepEqual(
      (await store.append("t", recs(3), T0)).map((r) => r.seq),
      [1, 2, 3],
    );
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: 3, subscriptions: 0 });
    await store.createSubscription(subSettings("s", "t", { start: { kind: "earliest" } }), T0 + 1);
    assert.deepEqual(await lease(store, "s", 10, T0 + 1), [], "nothing was kept for a later subscription");
    assert.deepEqual(
      (await store.append("t", [rec("x")], T0 + 2)).map((r) => r.seq),
      [4],
    );
    assert.deepEqual(seqsOf(await lease(store, "s", 10, T0 + 2)), [4]);
  });

  it("append - window dedup: a duplicate inside the window returns the original seq, after it not", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { dedupWindowMs: 1000 });
    assert.deepEqual(await store.append("q", [rec("a"), rec("a"), rec("b")], T0), [
      { seq: 1, id: "a", duplicate: false },
      { seq: 1, id: "a", duplicate: true },
      { seq: 2, id: "b", duplicate: false },
    ]);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 999), [{ seq: 1, id: "a", duplicate: true }]);
    // Acked or not does not matter for the window scope.
    const leased = await lease(store, "q", 10, T0 + 999);
    assert.deepEqual(seqsOf(leased), [1, 2], "a duplicate is not stored again");
    assert.deepEqual(await store.ack("q", { tokens: tokensOf(leased), messageIds: [] }, T0 + 999), ["ok", "ok"]);
    assert.deepEqual(await store.append("q", [rec("b")], T0 + 999), [{ seq: 2, id: "b", duplicate: true }]);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 1000), [{ seq: 3, id: "a", duplicate: false }]);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 1500), [{ seq: 3, id: "a", duplicate: true }]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 1500)), [3]);
    assert.equal((await store.topicCounters("q")).lastSeq, 3);
  });

  it("append - window dedup also applies on a topic without subscriptions", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t", { dedupWindowMs: 1000 }), T0);
    await store.append("t", [rec("a")], T0);
    assert.deepEqual(await store.append("t", [rec("a")], T0 + 10), [{ seq: 1, id: "a", duplicate: true }]);
    assert.deepEqual(await store.append("t", [rec("a")], T0 + 2000), [{ seq: 2, id: "a", duplicate: false }]);
  });

  it("append - window dedup holds however the message left the log", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { dedupWindowMs: 60_000 });
    await store.append("q", [rec("acked"), rec("dropped")], T0);
    await store.ack("q", { tokens: [], messageIds: ["acked"] }, T0 + 1);
    await store.deleteSubscription("q");
    assert.equal((await store.topicCounters("q")).messages, 0);
    assert.deepEqual(await store.append("q", [rec("acked"), rec("dropped")], T0 + 2), [
      { seq: 1, id: "acked", duplicate: true },
      { seq: 2, id: "dropped", duplicate: true },
    ]);
  });

  it("append - a batch that fails leaves no trace", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    // An id far beyond any sane limit (LMDB keys end at 1978 bytes): accepted whole or refused whole.
    const huge = "x".repeat(4000);
    const outcome = await store.append("q", [rec("a"), rec(huge)], T0).then(
      (results) => results,
      (e: unknown) => e,
    );
    if (Array.isArray(outcome)) {
      assert.deepEqual(
        outcome.map((r) => r.seq),
        [1, 2],
      );
      return;
    }
    assert.ok(outcome instanceof BrokerError, String(outcome));
    assert.equal(outcome.retryable, false, "the same batch can never succeed");
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 0, subscriptions: 1 });
    assert.deepEqual(await store.subscriptionCounters("q"), {
      unacked: 0,
      inFlight: 0,
      delayed: 0,
      oldestUnackedPublishMs: 0,
    });
    assert.deepEqual(await store.append("q", [rec("a", { data: Buffer.from("second") })], T0 + 1), [
      { seq: 1, id: "a", duplicate: false },
    ]);
    const got = await lease(store, "q", 10, T0 + 1);
    assert.deepEqual(
      got.map((r) => [r.message.seq, Buffer.from(r.message.data).toString()]),
      [[1, "second"]],
    );
  });

  it("append - unacked dedup: a duplicate while unacked, the id is free again once acked", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q", { dedupScope: "unacked", dedupWindowMs: 1000 });
    await store.createSubscription(subSettings("q2", "q"), T0);
    assert.deepEqual(await store.append("q", [rec("a")], T0), [{ seq: 1, id: "a", duplicate: false }]);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 5000), [{ seq: 1, id: "a", duplicate: true }]);
    const [first] = await lease(store, "q", 1, T0 + 5000);
    assert.equal(first?.message.seq, 1);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 5000), [{ seq: 1, id: "a", duplicate: true }], "leased");
    await store.ack("q", { tokens: [first?.token ?? ""], messageIds: [] }, T0 + 5000);
    assert.deepEqual(
      await store.append("q", [rec("a")], T0 + 5000),
      [{ seq: 1, id: "a", duplicate: true }],
      "still unacked on q2",
    );
    assert.deepEqual(await store.ack("q2", { tokens: [], messageIds: ["a"] }, T0 + 5000), ["ok"]);
    assert.deepEqual(await store.append("q", [rec("a")], T0 + 5001), [{ seq: 2, id: "a", duplicate: false }]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 5001)), [2]);
  });

  it("append - an empty id is generated from topic and seq, needs no dedup and acks by message id", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const [a, b] = await store.append("q", [rec(""), rec("")], T0);
    assert.ok(a && b && a.id !== "" && b.id !== "" && a.id !== b.id, "distinct generated ids");
    assert.deepEqual([a.seq, b.seq, a.duplicate], [1, 2, false]);
    const leased = await lease(store, "q", 10, T0 + 1);
    assert.deepEqual(
      leased.map((l) => l.message.id),
      [a.id, b.id],
      "the stored message carries the generated id",
    );
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: [a.id] }, T0 + 2), ["ok"]);
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: [a.id] }, T0 + 3), ["unknown"]);
    // A client id that merely looks generated is not confused with the generated one.
    const [c] = await store.append("q", [rec(b.id)], T0 + 4);
    assert.equal(c?.seq, 3);
    assert.deepEqual(
      await store.ack("q", { tokens: [], messageIds: [b.id] }, T0 + 5),
      ["ok"],
      "acks the client's seq 3",
    );
    assert.deepEqual(await store.ack("q", { tokens: [leased[1]?.token ?? ""], messageIds: [] }, T0 + 6), ["ok"]);
    assert.equal((await store.subscriptionCounters("q")).unacked, 0);
  });

  it("append - with two subscriptions a message leaves the log only after the last ack, also when added later", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("a")], T0);
    await store.createSubscription({ ...subSettings("late", "q"), start: { kind: "earliest" } }, T0);
    assert.deepEqual(await store.ack("q", { tokens: [], messageIds: ["a"] }, T0), ["ok"]);
    assert.equal((await store.topicCounters("q")).messages, 1, "still held by the later subscription");
    assert.deepEqual(seqsOf(await lease(store, "late", 10, T0)), [1]);
    assert.deepEqual(await store.ack("late", { tokens: [], messageIds: ["a"] }, T0), ["ok"]);
    assert.equal((await store.topicCounters("q")).messages, 0);
  });

  it("append - fan-out: each subscription sees every message; it is stored until all have acked", async (t) => {
    const { store } = await setup(t, factory);
    await store.createTopic(topicSettings("t"), T0);
    await store.createSubscription(subSettings("a", "t"), T0);
    await store.createSubscription(subSettings("b", "t"), T0);
    await store.append("t", [rec("x", { data: Buffer.alloc(10) }), rec("y", { data: Buffer.alloc(20) })], T0);
    assert.deepEqual(await store.topicCounters("t"), { messages: 2, bytes: 30, lastSeq: 2, subscriptions: 2 });
    const a = await lease(store, "a", 10, T0);
    const b = await lease(store, "b", 10, T0);
    assert.deepEqual(seqsOf(a), [1, 2]);
    assert.deepEqual(seqsOf(b), [1, 2]);
    await store.ack("a", { tokens: tokensOf(a), messageIds: [] }, T0);
    assert.deepEqual(await store.topicCounters("t"), { messages: 2, bytes: 30, lastSeq: 2, subscriptions: 2 });
    assert.deepEqual(await store.ack("b", { tokens: [b[0]?.token ?? ""], messageIds: [] }, T0), ["ok"]);
    assert.deepEqual(await store.topicCounters("t"), { messages: 1, bytes: 20, lastSeq: 2, subscriptions: 2 });
    await store.ack("b", { tokens: [b[1]?.token ?? ""], messageIds: [] }, T0);
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: 2, subscriptions: 2 });
    assert.equal((await store.subscriptionCounters("a")).unacked, 0);
    assert.equal((await store.subscriptionCounters("b")).unacked, 0);
  });

  it("append - a message round-trips every field, unicode included", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const records: AppendRecord[] = [
      {
        id: "ид-💡-1",
        data: Uint8Array.from([0, 1, 2, 255, 254, 0]),
        attributes: { clé: "välue ✓", emoji: "🚀🚀", empty: "", "a=b": "x\ny" },
        priority: 7,
        orderingKey: "käy-1",
        deliverAtMs: 0,
        expireAtMs: T0 + 3_600_000,
      },
      rec("empty", { data: new Uint8Array(0) }),
      rec("big", { data: Uint8Array.from({ length: 1024 * 1024 }, (_, i) => (i * 31 + 7) & 0xff) }),
    ];
    await store.append("q", records, T0);
    assert.equal((await store.topicCounters("q")).bytes, 6 + 0 + 1024 * 1024);
    for (const got of [await store.peek("q", 10, T0), await lease(store, "q", 10, T0)]) {
      assert.equal(got.length, 3);
      for (const r of got) {
        const want = records.find((x) => x.id === r.message.id);
        assert.ok(want, `unexpected id ${r.message.id}`);
        const m = r.message;
        assert.equal(m.topic, "q");
        assertBytes(m.data, want.data, want.id);
        assert.deepEqual({ ...m.attributes }, want.attributes);
        assert.equal(m.priority, want.priority);
        assert.equal(m.orderingKey, want.orderingKey);
        assert.equal(m.publishTimeMs, T0);
        assert.equal(m.deliverAtMs, want.deliverAtMs);
        assert.equal(m.expireAtMs, want.expireAtMs);
      }
      assert.deepEqual(
        got.map((r) => [r.message.id, r.message.seq]),
        [
          ["ид-💡-1", 1],
          ["empty", 2],
          ["big", 3],
        ],
      );
    }
  });

  it("append - payloads of one lease are independent copies", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    const records = Array.from({ length: 20 }, (_, i) => rec(`m${i}`, { data: Buffer.alloc(100 + i, i + 1) }));
    await store.append("q", records, T0);
    const got = await lease(store, "q", 20, T0);
    await store.append("q", recs(5, "later"), T0);
    await store.peek("q", 10, T0);
    for (const [i, r] of got.entries()) assertBytes(r.message.data, records[i]?.data ?? new Uint8Array(), `m${i}`);
  });
}
