/**
 * The store's failed state (src/store/kv/fail-safe-kv.ts) on a KV engine that fails on purpose:
 * a failed commit or an operation that breaks midway stops the store (STORE_FAILED, never
 * "retry, nothing was written"), a refusal does not, and close always ends.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { StoreFailure } from "../../src/store/kv/fail-safe-kv.js";
import { KvCommitError, type KvEngine, type KvWriter } from "../../src/store/kv/kv.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";
import { rec, subSettings, T0, topicSettings } from "./conformance/helpers.js";

/**
 * A KV over a MemoryKv that fails on demand: "operation" makes the second put of a write
 * callback throw (as LMDB does for a bad value), "commit" applies the write and then rejects
 * it (a failed sync: the writes are there, the caller is told the commit failed), "hang" never
 * settles the write.
 */
function failingKv() {
  const inner = new MemoryKv();
  const kv = {
    mode: "ok" as "ok" | "operation" | "commit" | "hang",
    inner,
    write<T>(fn: (w: KvWriter) => T): Promise<T> {
      const mode = kv.mode;
      if (mode === "hang") return new Promise<T>(() => {});
      const done = inner.write((w) => {
        let puts = 0;
        const breaking: KvWriter = {
          ...w,
          put(key, value) {
            if (mode === "operation" && ++puts > 1) throw new Error("MDB_BAD_VALSIZE");
            w.put(key, value);
          },
        };
        return fn(breaking);
      });
      if (mode !== "commit") return done;
      return done.then(() => Promise.reject(new KvCommitError("fdatasync: Input/output error")));
    },
    read: inner.read.bind(inner),
    close: inner.close.bind(inner),
  } satisfies KvEngine & Record<string, unknown>;
  return kv;
}

function openStore() {
  const kv = failingKv();
  const failures: StoreFailure[] = [];
  const store = new KvStore(kv, { onFailure: (f) => failures.push(f) });
  return { kv, store, failures };
}

const message = /may or may not have been saved/;

test("store - an operation that throws midway fails the store: STORE_FAILED, not retryable, told once", async () => {
  const { kv, store, failures } = openStore();
  kv.mode = "operation";
  await assert.rejects(store.createTopic(topicSettings("t"), T0, subSettings("t", "t")), {
    reason: "STORE_FAILED",
    retryable: false,
    message,
  });
  assert.equal(failures.length, 1);
  assert.match(failures[0]?.message ?? "", /threw midway/);
  assert.equal(await store.getTopic("t"), undefined);
  kv.mode = "ok";
  await assert.rejects(store.createTopic(topicSettings("u"), T0), { reason: "STORE_FAILED" });
  assert.equal(failures.length, 1, "the failure is reported once");
  await store.close();
});

test("store - a failed commit or sync fails the store; every later write is refused", async () => {
  const { kv, store, failures } = openStore();
  await store.createTopic(topicSettings("t"), T0);
  kv.mode = "commit";
  await assert.rejects(store.append("t", [rec("a")], T0), { reason: "STORE_FAILED", retryable: false, message });
  assert.equal(failures.length, 1);
  assert.match(failures[0]?.message ?? "", /failed to commit or sync/);
  assert.ok(failures[0]?.cause instanceof KvCommitError);
  kv.mode = "ok";
  await assert.rejects(store.append("t", [rec("b")], T0), { reason: "STORE_FAILED" });
  await assert.rejects(store.purgeTopic("t"), { reason: "STORE_FAILED" });
  await store.close();
});

test("store - a refusal (a BrokerError before the first write) passes through and the store goes on", async () => {
  const { store, failures } = openStore();
  await store.createTopic(topicSettings("t"), T0);
  await assert.rejects(store.createTopic(topicSettings("t"), T0), { reason: "ALREADY_EXISTS" });
  await assert.rejects(store.append("t", [rec("x", { priority: 12 })], T0), { reason: "INVALID_ARGUMENT" });
  assert.deepEqual(failures, []);
  const [r] = await store.append("t", [rec("a")], T0);
  assert.equal(r?.seq, 1);
  await store.close();
});

test("store - writes waiting when the store fails get STORE_FAILED at once, not when (if ever) they settle", async () => {
  const { kv, store, failures } = openStore();
  await store.createTopic(topicSettings("t"), T0);
  kv.mode = "hang";
  const waiting = store.append("t", [rec("a")], T0);
  kv.mode = "commit";
  const failing = store.append("t", [rec("b")], T0);
  await assert.rejects(failing, { reason: "STORE_FAILED" });
  await assert.rejects(waiting, { reason: "STORE_FAILED", message });
  assert.equal(failures.length, 1);
  await store.close();
});

test("store - close ends even when a write never settles (bounded wait), and then fails the store", async () => {
  const kv = failingKv();
  const failures: StoreFailure[] = [];
  const store = new KvStore(kv, { onFailure: (f) => failures.push(f), closeTimeoutMs: 50 });
  await store.createTopic(topicSettings("t"), T0);
  kv.mode = "hang";
  const hanging = store.append("t", [rec("a")], T0);
  const started = Date.now();
  await store.close();
  assert.ok(Date.now() - started < 5000, "close ended");
  await assert.rejects(hanging, { reason: "STORE_FAILED" });
  assert.match(failures[0]?.message ?? "", /did not end within 50 ms of close/);
});
