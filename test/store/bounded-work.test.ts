/**
 * Bounded work per transaction (issue 13, point 8): creating a subscription at an earlier
 * position, DeleteSubscription, PurgeTopic and DeleteTopic on a topic of many messages touch a
 * bounded number of entries in their own transaction (a cursor move plus one step) and leave the
 * rest to background steps of the retention sweep, each bounded by its work budget. Counts and
 * the log come out exact once the steps are done.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { KvEngine, KvReader, KvWriter } from "../../src/store/kv/kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import { rec, subSettings, T0, topicSettings } from "./conformance/helpers.js";

/** A memory KV that counts the entries each write transaction touches (puts, deletes, range reads). */
class CountingKv implements KvEngine {
  private readonly inner: MemoryKv;
  /** Work of each write since the last reset. */
  works: number[] = [];

  constructor(readonly data: MemoryKvData) {
    this.inner = new MemoryKv(data);
  }

  write<T>(fn: (txn: KvWriter) => T): Promise<T> {
    return this.inner.write((w) => {
      let n = 0;
      const counted: KvWriter = {
        get: (k) => w.get(k),
        range: (r) => {
          const out = w.range(r);
          n += out.length;
          return out;
        },
        keys: (r) => {
          const out = w.keys(r);
          n += out.length;
          return out;
        },
        scan: (r, visit) => {
          const visited = w.scan(r, visit);
          n += visited;
          return visited;
        },
        view: (k) => w.view(k),
        put: (k, v) => {
          n++;
          w.put(k, v);
        },
        del: (k) => {
          n++;
          w.del(k);
        },
      };
      try {
        return fn(counted);
      } finally {
        this.works.push(n);
      }
    });
  }

  read<T>(fn: (r: KvReader) => T): T {
    return this.inner.read(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The largest work of one write since the last call, and resets. */
  takeMax(): number {
    const max = Math.max(0, ...this.works);
    this.works = [];
    return max;
  }
}

const N = 30_000;
/** What one operation may touch: a step of the log (10,000) and a little bookkeeping. */
const OP_BOUND = 2 * 10_000 + 100;
const SWEEP_WORK = 1000;
const SWEEP_BOUND = 3 * SWEEP_WORK + 100;

/** Entries of a table for one topic or cursor id ([tag][id u32]...), empty ones (the log's end key) aside. */
function keysOf(data: MemoryKvData, tag: number, id: number): number {
  return data.keys.filter(
    (k) =>
      k.charCodeAt(0) === tag &&
      Buffer.from(k, "latin1").readUInt32BE(1) === id &&
      (data.values.get(k)?.length ?? 0) > 0,
  ).length;
}

it("bounded work - earlier start, DeleteSubscription, PurgeTopic and DeleteTopic step through a big log", async () => {
  const kv = new CountingKv(createMemoryKvData());
  // The trim runs here as part of the sweep only (within its work bound), not on its own timer,
  // so every write this test counts is one the test made; test/store/trim.test.ts bounds the trim's own steps.
  const store = new KvStore(kv, { trimAfterMs: Number.POSITIVE_INFINITY });
  const sweepAll = async () => {
    let steps = 0;
    while ((await store.sweepRetention(T0, SWEEP_WORK)).more) steps++;
    assert.ok(kv.takeMax() <= SWEEP_BOUND, "every sweep step is bounded");
    return steps;
  };
  try {
    const { topic } = await store.createTopic(topicSettings("t"), T0, subSettings("keep", "t"));
    for (let i = 0; i < N; i += 1000) {
      const batch = Array.from({ length: 1000 }, (_, j) => rec("", { attributes: { k: String((i + j) % 2) } }));
      await store.append("t", batch, T0);
    }
    kv.takeMax();

    // A filtered subscription from the earliest message: a cursor move and one counting step.
    await store.createSubscription(subSettings("late", "t", { filter: { k: "1" }, start: { kind: "earliest" } }), T0);
    assert.ok(kv.takeMax() <= OP_BOUND, "CreateSubscription from earliest");
    assert.equal(await store.hasBackgroundWork(), true);
    assert.ok((await sweepAll()) > 0, "the count took background steps");
    assert.equal((await store.subscriptionCounters("late")).unacked, N / 2);
    assert.equal(await store.hasBackgroundWork(), false);

    // Deleting the subscription that holds everything: half the log goes, in steps.
    await store.deleteSubscription("keep");
    assert.ok(kv.takeMax() <= OP_BOUND, "DeleteSubscription");
    await sweepAll();
    assert.equal((await store.topicCounters("t")).messages, N / 2, "what only keep held is gone");
    assert.equal(keysOf(kv.data, 0x04, topic.id), N / 2);

    // Purge: the counts are zero at once, the log is deleted in steps.
    assert.equal(await store.purgeTopic("t"), N / 2);
    assert.ok(kv.takeMax() <= OP_BOUND, "PurgeTopic");
    assert.deepEqual(await store.topicCounters("t"), { messages: 0, bytes: 0, lastSeq: N, subscriptions: 1 });
    assert.equal((await store.subscriptionCounters("late")).unacked, 0);
    // While the purged log is still being deleted, nothing brings it back: not a Seek, not a read.
    await store.seek("late", { kind: "seq", seq: 1 }, T0);
    assert.deepEqual(await store.lease("late", { max: 10, leaseMs: 1000, nowMs: T0, autoAck: false }), []);
    assert.deepEqual(await store.peek("late", 10, T0, true), []);
    assert.equal((await store.readLog("t", 1, 10, 1 << 20, T0)).messages.length, 0);
    await sweepAll();
    assert.equal(keysOf(kv.data, 0x04, topic.id), 0, "the purged log is gone");

    // Delete a topic with a big log: the catalog at once, the log in steps.
    for (let i = 0; i < N; i += 1000) {
      await store.append(
        "t",
        Array.from({ length: 1000 }, () => rec("", { priority: 1, attributes: { k: "1" } })),
        T0,
      );
    }
    assert.equal((await store.topicCounters("t")).messages, N);
    kv.takeMax();
    await store.deleteTopic("t");
    assert.ok(kv.takeMax() <= OP_BOUND, "DeleteTopic");
    assert.equal(await store.getTopic("t"), undefined);
    await sweepAll();
    for (const tag of [0x04, 0x05, 0x06, 0x0e]) {
      const left = kv.data.keys.filter(
        (k) => k.charCodeAt(0) === tag && Buffer.from(k, "latin1").readUInt32BE(1) === topic.id,
      );
      assert.equal(left.length, 0, `table ${tag}`);
    }
  } finally {
    await store.close();
  }
});
