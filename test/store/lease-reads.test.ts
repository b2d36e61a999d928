/**
 * How a lease reads the log (src/store/engine/deliver.ts): lane 0 walks the log with values while
 * it takes most of what it reads and switches to keys and views when it steps over much (other
 * priorities, a filter); views are copied into a buffer shared by one hand-out. Whatever the
 * path, every message handed out keeps its own bytes after later reads, writes and leases, and
 * the order stays priority first, then seq. Real LMDB (its views are reused buffers) and the
 * memory KV.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { createMemoryStore, type LeasedRecord, openLmdbStore, type Store } from "../../src/store/index.js";
import type { KvEngine, KvReader, KvWriter } from "../../src/store/kv/kv.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";
import { rec, subSettings, T0, topicSettings } from "./conformance/helpers.js";

/** A payload unique to message `i`, long enough that a reused buffer would show. */
function payload(i: number): Buffer {
  return Buffer.from(`message ${i} `.repeat(20 + (i % 7)));
}

/** Opens a store; `logTailMaxBytes` 0 turns the log tail off (every read from the KV engine). */
type Open = (logTailMaxBytes?: number) => Promise<{ store: Store; done: () => Promise<void> }>;

const backends: Array<[string, Open]> = [
  [
    "memory",
    async (logTailMaxBytes) => {
      const store = createMemoryStore(undefined, undefined, logTailMaxBytes);
      return { store, done: () => store.close() };
    },
  ],
  [
    "lmdb",
    async (logTailMaxBytes) => {
      const path = await mkdtemp(join(tmpdir(), "switchyard-lease-reads-"));
      const store = await openLmdbStore({
        path,
        durability: "flush",
        mapSizeBytes: 256 * 1024 * 1024,
        ...(logTailMaxBytes === undefined ? {} : { logTailMaxBytes }),
      });
      return {
        store,
        done: async () => {
          await store.close();
          await rm(path, { recursive: true, force: true });
        },
      };
    },
  ],
];

/** Appends to "q" the messages m{from}..m{from+n-1}, each with its own payload. */
function publishNumbered(store: Store, from: number, n: number) {
  return store.append(
    "q",
    Array.from({ length: n }, (_, k) => rec(`m${from + k}`, { data: payload(from + k) })),
    T0,
  );
}

for (const [name, open] of backends) {
  describe(`lease reads (${name})`, () => {
    it("mixed priorities and a filter: every message once, in order, with its own bytes", async () => {
      const { store, done } = await open();
      try {
        await store.createTopic(topicSettings("t"), T0);
        await store.createSubscription(subSettings("all", "t"), T0);
        await store.createSubscription(subSettings("odd", "t", { filter: { parity: "odd" } }), T0);
        const n = 3000;
        // Runs of plain messages (lane 0 reads values), then stretches where most are of another
        // priority or filtered out (lane 0 switches to keys and views).
        const priorityOf = (i: number) => (i % 1000 < 500 ? 0 : i % 3 === 0 ? 0 : 4);
        for (let from = 0; from < n; from += 500) {
          const records = [];
          for (let i = from; i < from + 500; i++) {
            records.push(
              rec(`m${i}`, {
                data: payload(i),
                priority: priorityOf(i),
                attributes: { parity: i % 2 === 1 ? "odd" : "even" },
              }),
            );
          }
          await store.append("t", records, T0);
        }
        for (const [sub, wanted] of [
          ["all", (_: number) => true],
          ["odd", (i: number) => i % 2 === 1],
        ] as const) {
          const got: LeasedRecord[] = [];
          for (;;) {
            const batch = await store.lease(sub, { max: 137, leaseMs: 60_000, nowMs: T0, autoAck: false });
            if (batch.length === 0) break;
            got.push(...batch);
            // Acks between leases: writes and reads reuse the engine's buffers meanwhile.
            await store.ack(
              sub,
              { tokens: batch.filter((_, k) => k % 2 === 0).map((r) => r.token), messageIds: [] },
              T0,
            );
          }
          const expected: number[] = [];
          for (let i = 0; i < n; i++) if (wanted(i)) expected.push(i);
          // Priority first (4 before 0), then seq.
          expected.sort((a, b) => priorityOf(b) - priorityOf(a) || a - b);
          assert.equal(got.length, expected.length, `${sub}: every message once`);
          got.forEach((r, k) => {
            const i = expected[k] as number;
            assert.equal(r.message.id, `m${i}`, `${sub}: position ${k}`);
            assert.deepEqual(Buffer.from(r.message.data), payload(i), `${sub}: bytes of m${i}`);
            assert.equal(r.message.priority, priorityOf(i));
          });
        }
      } finally {
        await done();
      }
    });

    it("a hand-out keeps its bytes through later reads, writes and hand-outs, and shares no buffer with them", async () => {
      // The log tail off: every read is of the engine's reused buffers (the tail's own values
      // are never changed, and hand-outs share them: the next test).
      const { store, done } = await open(0);
      try {
        await store.createTopic(topicSettings("q"), T0, subSettings("q", "q"));
        await store.createSubscription(subSettings("other", "q"), T0);
        const publish = (from: number, n: number) => publishNumbered(store, from, n);
        await publish(0, 300);
        // Lane 0 read with values, as views of the engine's read buffer: copied into the hand-out.
        const first = await store.lease("q", { max: 200, leaseMs: 60_000, nowMs: T0, autoAck: false });
        assert.equal(first.length, 200);
        // Every other kind of read and write meanwhile reuses the engine's buffers.
        await store.peek("q", 50, T0);
        await store.readLog("q", 1, 300, 1 << 20, T0);
        await store.lease("other", { max: 300, leaseMs: 60_000, nowMs: T0, autoAck: false });
        await publish(300, 300);
        await store.ack("q", { tokens: first.slice(0, 100).map((r) => r.token), messageIds: [] }, T0);
        const second = await store.lease("q", { max: 400, leaseMs: 60_000, nowMs: T0, autoAck: false });
        assert.equal(second.length, 400);
        for (const [i, r] of first.entries()) {
          assert.equal(r.message.id, `m${i}`);
          assert.deepEqual(Buffer.from(r.message.data), payload(i), `first hand-out, m${i}`);
        }
        for (const [k, r] of second.entries()) assert.deepEqual(Buffer.from(r.message.data), payload(200 + k));
        const firstBuffers = new Set(first.map((r) => r.message.data.buffer));
        for (const r of second)
          assert.ok(!firstBuffers.has(r.message.data.buffer), "no buffer shared between hand-outs");
      } finally {
        await done();
      }
    });

    it("hand-outs from the log tail keep their bytes through later appends, acks, trims, drops and purges", async () => {
      const { store, done } = await open();
      try {
        await store.createTopic(
          topicSettings("q", { maxMessages: 500, overflow: "drop_oldest" }),
          T0,
          subSettings("q", "q"),
        );
        await store.createSubscription(subSettings("other", "q"), T0);
        const publish = (from: number, n: number) => publishNumbered(store, from, n);
        await publish(0, 300);
        const first = await store.lease("q", { max: 200, leaseMs: 60_000, nowMs: T0, autoAck: false });
        const other = await store.lease("other", { max: 300, leaseMs: 60_000, nowMs: T0, autoAck: false });
        assert.equal(first.length, 200);
        assert.equal(other.length, 300);
        // Released by both (then trimmed), dropped by the topic's limit, purged: none is changed.
        await store.ack("q", { tokens: first.slice(0, 100).map((r) => r.token), messageIds: [] }, T0);
        await store.ack("other", { tokens: other.slice(0, 100).map((r) => r.token), messageIds: [] }, T0);
        await publish(300, 300);
        await new Promise((resolve) => setTimeout(resolve, 60)); // the trim's timer step
        const second = await store.lease("q", { max: 400, leaseMs: 60_000, nowMs: T0, autoAck: false });
        for (const r of second) {
          const i = Number(r.message.id.slice(1));
          assert.ok(i >= 200, `m${i}: m100..m199 were leased, and the limit dropped the oldest`);
          assert.deepEqual(Buffer.from(r.message.data), payload(i));
        }
        await store.purgeTopic("q");
        await publish(600, 100);
        const third = await store.lease("other", { max: 400, leaseMs: 60_000, nowMs: T0, autoAck: false });
        assert.deepEqual(
          third.map((r) => r.message.id),
          Array.from({ length: 100 }, (_, k) => `m${600 + k}`),
          "after the purge, only what came after it",
        );
        for (const [i, r] of first.entries()) assert.deepEqual(Buffer.from(r.message.data), payload(i));
        for (const [i, r] of other.entries()) assert.deepEqual(Buffer.from(r.message.data), payload(i));
        for (const r of [...second, ...third])
          assert.deepEqual(Buffer.from(r.message.data), payload(Number(r.message.id.slice(1))));
      } finally {
        await done();
      }
    });

    it("messages available again (read as views) keep their bytes when leased together", async () => {
      const { store, done } = await open();
      try {
        await store.createTopic(topicSettings("q"), T0, subSettings("q", "q"));
        await store.append(
          "q",
          Array.from({ length: 400 }, (_, i) => rec(`m${i}`, { data: payload(i) })),
          T0,
        );
        const first = await store.lease("q", { max: 400, leaseMs: 60_000, nowMs: T0, autoAck: false });
        assert.equal(first.length, 400);
        await store.nack("q", { tokens: first.map((r) => r.token), messageIds: [] }, T0, T0);
        const again = await store.lease("q", { max: 400, leaseMs: 60_000, nowMs: T0 + 1, autoAck: false });
        assert.equal(again.length, 400);
        again.forEach((r, i) => {
          assert.equal(r.message.id, `m${i}`);
          assert.equal(r.attempt, 2);
          assert.deepEqual(Buffer.from(r.message.data), payload(i));
        });
        // The first hand-out's messages are unchanged by the second's reads.
        for (const [i, r] of first.entries()) assert.deepEqual(Buffer.from(r.message.data), payload(i));
      } finally {
        await done();
      }
    });
  });
}

/** The memory KV, counting the value bytes that reads outside write transactions bring. */
class ReadBytesKv implements KvEngine {
  private readonly inner = new MemoryKv();
  bytes = 0;

  write<T>(fn: (txn: KvWriter) => T): Promise<T> {
    return this.inner.write(fn);
  }

  read<T>(fn: (r: KvReader) => T): T {
    return this.inner.read((r) =>
      fn({
        get: (k) => this.count(r.get(k)),
        view: (k) => this.count(r.view(k)),
        keys: (range) => r.keys(range),
        scan: (range, visit) => r.scan(range, (key, view) => visit(key, this.count(view) as Buffer)),
        range: (range) => {
          const out = r.range(range);
          for (const e of out) this.count(e.value);
          return out;
        },
      }),
    );
  }

  private count(v: Buffer | undefined): Buffer | undefined {
    this.bytes += v?.length ?? 0;
    return v;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

describe("lease reads (bytes)", () => {
  it("large messages past a hand-out's byte bound are not read with it", async () => {
    const kv = new ReadBytesKv();
    const store = new KvStore(kv, { logTailMaxBytes: 0 }); // every read from the KV engine
    try {
      await store.createTopic(topicSettings("q"), T0, subSettings("q", "q"));
      const size = 256 * 1024;
      await store.append(
        "q",
        Array.from({ length: 60 }, (_, i) => rec(`m${i}`, { data: Buffer.alloc(size, i) })),
        T0,
      );
      let taken = 0;
      kv.bytes = 0;
      for (let round = 0; round < 5; round++) {
        const got = await store.lease("q", {
          max: 1000,
          maxBytes: 1024 * 1024,
          leaseMs: 60_000,
          nowMs: T0,
          autoAck: false,
        });
        assert.ok(got.length >= 1 && got.length <= 4, `a MiB holds at most 4: ${got.length}`);
        for (const r of got)
          assert.deepEqual(Buffer.from(r.message.data), Buffer.alloc(size, Number(r.message.id.slice(1))));
        taken += got.length;
      }
      // Each lease may read a few messages it does not take (its first read, before it knows
      // their size, and one to see past its bound), never the rest of the log.
      assert.ok(kv.bytes <= (taken + 5 * 5) * (size + 200), `read ${kv.bytes} bytes for ${taken} messages`);
      assert.ok(kv.bytes < 60 * size, "not the whole log");
    } finally {
      await store.close();
    }
  });
});
