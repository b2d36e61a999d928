/**
 * The trim (src/store/engine/trim.ts): an ack releases messages (gone for every reader, counted
 * out) and leaves their log entries to the trim, which deletes them in bounded steps. Memory KV,
 * explicit times; the store's own trim timer is off (trimAfterMs: Infinity) except where a test
 * is about it, so each test drives the trim through sweepRetention. The tables are read raw,
 * and the independent invariant check (invariants.ts) runs after every step.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { logEndKey } from "../../src/store/engine/keys.js";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { TRIM_STEP_ENTRIES } from "../../src/store/engine/trim.js";
import { openLmdbStore } from "../../src/store/index.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { createMemoryKvData } from "../../src/store/kv/memory-kv.js";
import { createQueue, lease, recs, seqsOf, subSettings, T0, tokensOf, topicSettings } from "./conformance/helpers.js";
import {
  assertInvariants,
  CommitLaterKv,
  drain,
  logSeqs,
  MESSAGE,
  open,
  plain,
  RELEASED,
  releasedRanges,
  StepCountingKv,
  sweepAll,
} from "./trim-helpers.js";

describe("trim", () => {
  it("trim - an ack leaves the message on disk, gone for every reader, until the trim deletes it", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q");
    await store.append("q", plain(5), T0);
    const before = await store.subscriptionCounters("q");
    assert.equal(before.unacked, 5);
    const got = await lease(store, "q", 3, T0);
    await store.ack("q", { tokens: tokensOf(got), messageIds: [] }, T0);
    assert.deepEqual(logSeqs(data, 1), [1, 2, 3, 4, 5], "the ack deleted nothing");
    assert.deepEqual(releasedRanges(data, 1), [[1, 3]], "one released range, written with the ack");
    // Everything a client sees says 1..3 are gone.
    assert.deepEqual(await store.topicCounters("q"), { messages: 2, bytes: 4, lastSeq: 5, subscriptions: 1 });
    assert.equal((await store.subscriptionCounters("q")).unacked, 2);
    assert.deepEqual(
      (await store.readLog("q", 1, 10, 1 << 20, T0)).messages.map((m) => m.seq),
      [4, 5],
    );
    assert.equal(await store.seqAtTime("q", 0), 4);
    assertInvariants(data);
    assert.equal(await store.hasBackgroundWork(), true);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), [4, 5]);
    assert.deepEqual(releasedRanges(data, 1), []);
    assert.equal(await store.hasBackgroundWork(), false);
    assert.deepEqual(await store.topicCounters("q"), { messages: 2, bytes: 4, lastSeq: 5, subscriptions: 1 });
    assertInvariants(data);
    await store.close();
  });

  it("trim - deletes in steps bounded by the sweep's work, lowest seqs first", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q");
    for (let i = 0; i < 5; i++) await store.append("q", recs(1000, `b${i}-`), T0);
    assert.equal((await drain(store, "q")).length, 5000);
    assert.equal(logSeqs(data, 1).length, 5000);
    const left: number[] = [];
    for (;;) {
      const { more } = await store.sweepRetention(T0, 1000);
      const seqs = logSeqs(data, 1);
      left.push(seqs.length);
      if (seqs.length > 0) assert.equal(seqs[0], 5001 - seqs.length, "the lowest seqs go first");
      assertInvariants(data);
      if (!more) break;
    }
    assert.deepEqual(left.slice(0, 4), [4000, 3000, 2000, 1000]);
    assert.ok(left.length <= 6 && left.slice(4).every((x) => x === 0), `steps ${left}`);
    await store.close();
  });

  it("trim - counters are the same before and after the trim (the deferral is invisible)", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await store.createTopic(topicSettings("t"), T0, subSettings("a", "t"));
    await store.createSubscription(subSettings("b", "t"), T0);
    await store.append("t", recs(10), T0);
    await drain(store, "a");
    const got = await lease(store, "b", 4, T0);
    await store.ack("b", { tokens: tokensOf(got), messageIds: [] }, T0);
    const read = async () => ({
      topic: await store.topicCounters("t"),
      a: await store.subscriptionCounters("a"),
      b: await store.subscriptionCounters("b"),
    });
    const deferred = await read();
    assert.equal(deferred.topic.messages, 6, "what both acked is out of the count at once");
    assert.equal(deferred.topic.bytes, 5 * 2 + 3, "m5..m9 and m10");
    await sweepAll(store);
    assert.deepEqual(await read(), deferred);
    assert.deepEqual(logSeqs(data, 1), [5, 6, 7, 8, 9, 10]);
    assertInvariants(data);
    await store.close();
  });

  it("trim - a stuck lease keeps only its own message: acks out of order above it leave", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q");
    await store.append("q", recs(20), T0);
    const stuck = await lease(store, "q", 1, T0, 3_600_000);
    assert.deepEqual(seqsOf(stuck), [1]);
    const rest = await lease(store, "q", 19, T0, 3_600_000);
    // Acked out of order: the odd ones first, then the even ones.
    const odd = rest.filter((r) => r.message.seq % 2 === 1);
    const even = rest.filter((r) => r.message.seq % 2 === 0);
    await store.ack("q", { tokens: tokensOf(odd), messageIds: [] }, T0);
    assert.equal(releasedRanges(data, 1).length, 9, "a range per run of released seqs");
    assertInvariants(data);
    await store.ack("q", { tokens: tokensOf(even), messageIds: [] }, T0);
    assert.deepEqual(releasedRanges(data, 1), [[2, 20]], "the runs merged");
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), [1], "the floor stuck at 1 kept nothing but 1");
    assert.deepEqual(await store.topicCounters("q"), { messages: 1, bytes: 2, lastSeq: 20, subscriptions: 1 });
    assertInvariants(data);
    await store.ack("q", { tokens: tokensOf(stuck), messageIds: [] }, T0);
    await sweepAll(store);
    assert.deepEqual(logSeqs(data, 1), []);
    assertInvariants(data);
    await store.close();
  });

  it("trim - a restart between the ack and the trim: nothing acked comes back, counts hold, the trim goes on", async () => {
    const data = createMemoryKvData();
    const first = open(data);
    await createQueue(first, "q");
    await first.append("q", recs(8), T0);
    const got = await lease(first, "q", 5, T0);
    await first.ack("q", { tokens: tokensOf(got.slice(0, 2)), messageIds: [] }, T0);
    await first.ack("q", { tokens: tokensOf(got.slice(3)), messageIds: [] }, T0); // 1, 2, 4, 5 acked
    await first.close();
    const second = open(data);
    assert.deepEqual(await second.topicCounters("q"), { messages: 4, bytes: 8, lastSeq: 8, subscriptions: 1 });
    assert.equal(await second.hasBackgroundWork(), true, "the released ranges were loaded");
    assert.deepEqual(seqsOf(await lease(second, "q", 10, T0)), [3, 6, 7, 8], "every unacked one, no acked one");
    await sweepAll(second);
    assert.deepEqual(logSeqs(data, 1), [3, 6, 7, 8]);
    assertInvariants(data);
    await second.close();
  });

  it("trim - on its own timer, in steps of at most TRIM_STEP_ENTRIES, until the log is clean", async () => {
    const data = createMemoryKvData();
    const kv = new StepCountingKv(data);
    const store = new KvStore(kv, { trimAfterMs: 1 });
    await createQueue(store, "q");
    const n = 2 * TRIM_STEP_ENTRIES + 100;
    for (let i = 0; i < n; i += 1000) await store.append("q", plain(Math.min(1000, n - i), i + 1), T0);
    kv.dels = [];
    assert.equal((await drain(store, "q")).length, n);
    for (let waited = 0; logSeqs(data, 1).length > 0; waited += 5) {
      assert.ok(waited < 30_000, "the trim finishes");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const trimSteps = kv.dels.filter((d) => d > 0);
    assert.ok(trimSteps.length >= 3, `at least three steps, got ${trimSteps}`);
    assert.ok(Math.max(...trimSteps) <= TRIM_STEP_ENTRIES, `each step deletes at most ${TRIM_STEP_ENTRIES} entries`);
    assert.equal(await store.hasBackgroundWork(), false);
    assertInvariants(data);
    await store.close();
  });
});

describe("trim and reads of the last commit", () => {
  it("trim - between a trim step and its commit, reads (which see the last commit) still find the released messages gone", async () => {
    const live = createMemoryKvData();
    const kv = new CommitLaterKv(live);
    const store = new KvStore(kv, { trimAfterMs: Number.POSITIVE_INFINITY });
    await createQueue(store, "q");
    await store.append("q", plain(10), T0);
    await drain(store, "q");
    const waiting = kv.holdNext();
    const sweep = store.sweepRetention(T0, 1000);
    await waiting; // the step ran: memory no longer lists 1..10 as released, the reads' view still has them
    assert.equal(kv.visibleLog(), 10);
    assert.deepEqual((await store.readLog("q", 1, 100, 1 << 20, T0)).messages, []);
    assert.equal(await store.seqAtTime("q", 0), 11);
    kv.release();
    await sweep;
    assert.equal(kv.visibleLog(), 0);
    assert.deepEqual((await store.readLog("q", 1, 100, 1 << 20, T0)).messages, []);
    await store.close();
  });
});

describe("trim on its timer: deletes handed to the KV engine", () => {
  it("trim - a timer step's handed-over deletes and its shrunk ranges commit together; a crash before keeps both", async (t) => {
    const live = createMemoryKvData();
    const kv = new CommitLaterKv(live);
    const store = new KvStore(kv, { trimAfterMs: 30 });
    await createQueue(store, "q");
    await store.append("q", plain(10), T0);
    await drain(store, "q");
    // The trim's timer is unref'd: keep the loop alive while the test waits for it.
    const alive = setInterval(() => {}, 1000);
    t.after(() => clearInterval(alive));
    await kv.holdNext(); // the step planned against the last commit, its callback ran, commit held
    assert.equal(kv.visibleLog(), 10, "the last commit still has every entry");
    assert.deepEqual(releasedRanges(kv.committed(), 1), [[1, 10]], "and the range that lists them");
    assert.deepEqual(logSeqs(live, 1), [], "the step deleted them");
    assert.deepEqual(releasedRanges(live, 1), [], "and dropped the range, in the same write");
    // A crash now leaves the last commit: the reopened store trims the same seqs again.
    const crashed = kv.committed();
    const reopened = open(crashed);
    assert.equal(await reopened.hasBackgroundWork(), true);
    assert.deepEqual(await lease(reopened, "q", 100, T0), [], "acked messages stay gone");
    await sweepAll(reopened);
    assert.deepEqual(logSeqs(crashed, 1), []);
    assert.deepEqual(releasedRanges(crashed, 1), []);
    assertInvariants(crashed);
    await reopened.close();
    kv.release();
    for (let waited = 0; kv.visibleLog() > 0; waited += 5) {
      assert.ok(waited < 5000, "the held step commits");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(releasedRanges(kv.committed(), 1), []);
    assertInvariants(live);
    await store.close();
  });
});

describe("trim on LMDB", () => {
  it("trim - timer steps racing out-of-order acks on LMDB leave no entry and no range behind", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "logtrim-race-"));
    t.after(() => rm(path, { recursive: true, force: true }));
    const store = await openLmdbStore({ path, mapSizeBytes: 64 * 1024 * 1024 });
    await createQueue(store, "q");
    const n = 3000;
    for (let i = 0; i < n; i += 500) await store.append("q", plain(500, i + 1), T0);
    // Lease in rounds and ack each round in many small calls, odd positions first: releases land
    // above, below and inside ranges that timer steps (20 ms) have planned but not yet applied.
    for (let round = 0; round < 15; round++) {
      const got = await lease(store, "q", 200, T0);
      const tokens = tokensOf(got);
      const odd = tokens.filter((_, i) => i % 2 === 1);
      const even = tokens.filter((_, i) => i % 2 === 0);
      const acks: Promise<unknown>[] = [];
      for (const part of [odd, even])
        for (let i = 0; i < part.length; i += 10)
          acks.push(store.ack("q", { tokens: part.slice(i, i + 10), messageIds: [] }, T0));
      await Promise.all(acks);
      await new Promise((resolve) => setTimeout(resolve, round % 3 === 0 ? 25 : 1));
    }
    for (let waited = 0; await store.hasBackgroundWork(); waited += 10) {
      assert.ok(waited < 20_000, "the trim finishes");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.deepEqual(await store.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: n, subscriptions: 1 });
    await store.close();
    const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024 });
    t.after(() => kv.close());
    const tagged = (tag: number) => kv.read((r) => r.keys({ start: Buffer.of(tag), end: Buffer.of(tag + 1) })).length;
    const left = kv
      .read((r) => r.keys({ start: Buffer.of(MESSAGE), end: Buffer.of(MESSAGE + 1) }))
      .map((k) => k.toString("hex"));
    assert.deepEqual(left, [logEndKey(1).toString("hex")], "no log entry left but the log's end key");
    assert.equal(tagged(RELEASED), 0, "no released range left");
  });

  it("trim - a close right after the ack leaves the released ranges for the next open, which trims them", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "logtrim-trim-"));
    t.after(() => rm(path, { recursive: true, force: true }));
    const first = await openLmdbStore({ path, mapSizeBytes: 64 * 1024 * 1024 });
    await createQueue(first, "q");
    await first.append("q", plain(50), T0);
    await drain(first, "q");
    await first.close();
    const second = await openLmdbStore({ path, mapSizeBytes: 64 * 1024 * 1024 });
    t.after(() => second.close());
    assert.equal(await second.hasBackgroundWork(), true);
    assert.deepEqual(await second.topicCounters("q"), { messages: 0, bytes: 0, lastSeq: 50, subscriptions: 1 });
    assert.deepEqual(await lease(second, "q", 100, T0), []);
    assert.deepEqual((await second.readLog("q", 1, 100, 1 << 20, T0)).messages, []);
    await sweepAll(second);
    assert.equal(await second.hasBackgroundWork(), false);
  });
});
