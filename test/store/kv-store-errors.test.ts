import assert from "node:assert/strict";
import { test } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { KvEngine, KvWriter } from "../../src/store/kv/kv.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";

const topic = {
  name: "t",
  queue: false,
  dedupWindowMs: 1000,
  dedupScope: "window" as const,
  retainAckedMs: 0,
  maxMessages: 0,
  maxBytes: 0,
  maxAgeMs: 0,
  overflow: "reject" as const,
};

/**
 * A KV whose writes fail: "operation" makes the second put of an operation throw (as LMDB does
 * for a key over its limit), so the operation fails half-way; "commit" rejects the whole write.
 */
function failingKv(failure: "operation" | "commit"): KvEngine & { writes: number } {
  const inner = new MemoryKv();
  const kv = {
    writes: 0,
    write<T>(fn: (w: KvWriter) => T): Promise<T> {
      kv.writes++;
      if (failure === "commit") return Promise.reject(new Error("disk full"));
      return inner.write((w) => {
        let puts = 0;
        const breaking: KvWriter = {
          ...w,
          put(key, value) {
            if (++puts > 1) throw new Error("MDB_BAD_VALSIZE");
            w.put(key, value);
          },
        };
        return fn(breaking);
      });
    },
    read: inner.read.bind(inner),
    close: inner.close.bind(inner),
  };
  return kv;
}

test("store - an operation that throws inside its write is INTERNAL and not retryable", async () => {
  const store = new KvStore(failingKv("operation"));
  await assert.rejects(store.createTopic(topic, 1), { reason: "INTERNAL", retryable: false });
  await store.close();
});

test("store - a commit failure is STORE_UNAVAILABLE and retryable", async () => {
  const store = new KvStore(failingKv("commit"));
  await assert.rejects(store.createTopic(topic, 1), { reason: "STORE_UNAVAILABLE", retryable: true });
  await store.close();
});
