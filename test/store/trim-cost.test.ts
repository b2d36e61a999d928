/**
 * What a trim step costs (src/store/engine/trim.ts) and what readers see before it runs
 * (release.ts `liveKeys`): a released range grown over seqs the log never stored costs its stored
 * messages only, many small ranges do not each pay a scan of every priority lane, and a reader
 * asking for the oldest stored message finds it behind any number of released ranges. Memory KV,
 * explicit times, the trim driven through sweepRetention, the invariant check after every step.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { createMemoryKvData } from "../../src/store/kv/memory-kv.js";
import { createQueue, lease, rec, seqsOf, subSettings, T0, tokensOf, topicSettings } from "./conformance/helpers.js";
import { assertInvariants, drain, logSeqs, open, plain, releasedRanges, StepCountingKv } from "./trim-helpers.js";

/** Sweeps until done with `work` per step, checking the invariants after each; returns the steps. */
async function sweepChecked(store: KvStore, data: ReturnType<typeof createMemoryKvData>, work: number) {
  let steps = 1;
  while ((await store.sweepRetention(T0, work)).more) {
    assertInvariants(data);
    steps++;
  }
  assertInvariants(data);
  return steps;
}

describe("trim cost", () => {
  it("trim - a range grown over 19,900 seqs the log never stored deletes only its 100 stored messages", async () => {
    const data = createMemoryKvData();
    const kv = new StepCountingKv(data);
    const store = new KvStore(kv, { trimAfterMs: Number.POSITIVE_INFINITY });
    await store.createTopic(topicSettings("t"), T0, subSettings("rare", "t", { filter: { kind: "rare" } }));
    const kind = (i: number) => ({ kind: i % 200 === 0 ? "rare" : "common" });
    for (let from = 1; from <= 20_000; from += 1000) {
      await store.append(
        "t",
        plain(1000, from).map((r, i) => ({ ...r, attributes: kind(from + i - 1) })),
        T0,
      );
    }
    assert.equal(logSeqs(data, 1).length, 100, "what nobody takes is not stored");
    assert.equal((await drain(store, "rare")).length, 100);
    assert.deepEqual(releasedRanges(data, 1), [[1, 19_801]], "one range over the gaps");
    kv.dels = [];
    kv.scans = [];
    assert.equal(await sweepChecked(store, data, 1000), 1, "one step");
    assert.deepEqual(logSeqs(data, 1), []);
    assert.deepEqual(releasedRanges(data, 1), []);
    assert.equal(
      kv.dels.reduce((a, b) => a + b, 0),
      100,
      "a delete per stored message, none per seq it never held",
    );
    await store.close();
  });

  it("trim - messages released in this run leave without a key read of the log; ranges found at start are read", async () => {
    const data = createMemoryKvData();
    const kv = new StepCountingKv(data);
    const store = new KvStore(kv, { trimAfterMs: Number.POSITIVE_INFINITY });
    await store.createTopic(topicSettings("t"), T0, subSettings("q", "t"));
    await store.append("t", plain(3000), T0);
    assert.equal((await drain(store, "q")).length, 3000);
    assert.deepEqual(releasedRanges(data, 1), [[1, 3000]]);
    kv.logKeyScans = 0;
    assert.ok((await sweepChecked(store, data, 1000)) >= 3, "steps of at most 1,000");
    assert.deepEqual(logSeqs(data, 1), []);
    assert.equal(
      kv.dels.reduce((a, b) => a + b, 0),
      3000,
    );
    assert.equal(kv.logKeyScans, 0, "each released seq was a stored message: its key is made, not read");
    // Released before a restart: what their ranges hold is not known, so the trim reads it.
    await store.append("t", plain(2000, 3001), T0);
    assert.equal((await drain(store, "q")).length, 2000);
    await store.close();
    const kv2 = new StepCountingKv(data);
    const again = new KvStore(kv2, { trimAfterMs: Number.POSITIVE_INFINITY });
    kv2.logKeyScans = 0;
    await sweepChecked(again, data, 1000);
    assert.deepEqual(logSeqs(data, 1), []);
    assert.equal(
      kv2.dels.reduce((a, b) => a + b, 0),
      2000,
    );
    assert.ok(kv2.logKeyScans >= 2, `the ranges found at start are read: ${kv2.logKeyScans} key reads`);
    await again.close();
  });

  it("trim - 1,000 one-seq ranges of priority messages: lane entries of the released go, of the held stay, without 9 scans per range", async () => {
    const data = createMemoryKvData();
    const kv = new StepCountingKv(data);
    const store = new KvStore(kv, { trimAfterMs: Number.POSITIVE_INFINITY });
    await createQueue(store, "q");
    await store.append(
      "q",
      plain(2000).map((r) => ({ ...r, priority: 5 })),
      T0,
    );
    const got = await lease(store, "q", 2000, T0);
    const odd = got.filter((m) => m.message.seq % 2 === 1);
    await store.ack("q", { tokens: tokensOf(odd), messageIds: [] }, T0);
    assert.equal(releasedRanges(data, 1).length, 1000);
    kv.dels = [];
    kv.scans = [];
    await sweepChecked(store, data, 4096);
    assert.deepEqual(
      logSeqs(data, 1),
      Array.from({ length: 1000 }, (_, i) => 2 * (i + 1)),
      "the held messages stay",
    );
    // Invariants (checked after each step) include: every stored priority message has its lane entry.
    const maxScans = Math.max(...kv.scans);
    assert.ok(maxScans <= 1000 + 9 + 16, `a scan per range and one per lane, not nine per range: ${kv.scans}`);
    const held = got.filter((m) => m.message.seq % 2 === 0);
    await store.ack("q", { tokens: tokensOf(held), messageIds: [] }, T0);
    await sweepChecked(store, data, 4096);
    assert.deepEqual(logSeqs(data, 1), []);
    await store.close();
  });

  it("trim - Seek to a time finds the oldest stored message behind more than 64 released ranges the trim has not reached", async () => {
    const data = createMemoryKvData();
    const store = open(data);
    await createQueue(store, "q");
    // Odd seqs are kept until acked; even ones expire at T0 + 10 and the TTL sweep drops them.
    await store.append(
      "q",
      plain(200).map((r, i) => ({ ...r, expireAtMs: i % 2 === 1 ? T0 + 10 : 0 })),
      T0,
    );
    const got = await lease(store, "q", 200, T0);
    await store.ack("q", { tokens: tokensOf(got.filter((m) => m.message.seq % 2 === 1)), messageIds: [] }, T0);
    // Exactly the TTL entries' budget: the step drops the 100 expired messages and trims nothing.
    await store.sweepRetention(T0 + 20, 100);
    assert.equal(releasedRanges(data, 1).length, 100, "the trim has not run");
    assert.deepEqual(logSeqs(data, 1).length, 100, "only the released messages are still on disk");
    await store.append("q", [rec("late", { data: Buffer.from("late") })], T0 + 30);
    assert.equal(await store.seqAtTime("q", 0), 201);
    await store.seek("q", { kind: "time", timeMs: 0 }, T0 + 30);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0 + 30)), [201]);
    assertInvariants(data);
    await store.close();
  });
});
