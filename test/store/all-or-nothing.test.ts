/**
 * Every store operation is all or nothing: an exception at any KV write of append, ack, nack
 * (give back, failed, dead-letter), a trim step and redrive leaves the disk exactly as before the operation,
 * fails the store (STORE_FAILED, every later write refused), and a store reopened on the same
 * data carries on as if the operation had never started. Run on LMDB and on the in-memory KV.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { StoreFailure } from "../../src/store/kv/fail-safe-kv.js";
import { type KvEngine, MAX_KEY_BYTES } from "../../src/store/kv/kv.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import type { Store } from "../../src/store/store.js";
import { FaultyKv } from "../helpers/faulty-kv.js";
import { createQueue, lease, rec, recs, subSettings, T0, tokensOf, topicSettings } from "./conformance/helpers.js";

const byTokens = (...tokens: string[]) => ({ tokens, messageIds: [] });

/** A backend whose data outlives the store: `open` makes a store on it, again after close. */
interface Backend {
  open(): KvEngine;
  cleanup(): Promise<void>;
}

const backends: Record<string, () => Promise<Backend>> = {
  memory: async () => {
    const data: MemoryKvData = createMemoryKvData();
    return { open: () => new MemoryKv(data), cleanup: async () => {} };
  },
  lmdb: async () => {
    const path = await mkdtemp(join(tmpdir(), "switchyard-all-or-nothing-"));
    return {
      open: () => LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024 }),
      cleanup: () => rm(path, { recursive: true, force: true }),
    };
  },
};

/** jobs → work (2 attempts, dead letters to dlq) and audit; dlq is a queue. */
async function topology(store: Store): Promise<void> {
  await store.createTopic(topicSettings("jobs"), T0);
  await createQueue(store, "dlq");
  await store.createSubscription(subSettings("work", "jobs", { maxDeliveryAttempts: 2, deadLetterTopic: "dlq" }), T0);
  await store.createSubscription(subSettings("audit", "jobs"), T0);
  await store.append("jobs", [...recs(3), rec("p", { priority: 4 })], T0);
}

async function failOnce(store: Store): Promise<string[]> {
  const tokens = tokensOf(await lease(store, "work", 10, T0));
  await store.nack("work", byTokens(...tokens), T0, T0, { failed: true });
  return tokensOf(await lease(store, "work", 10, T0 + 1));
}

/** An operation under test: `prepare` runs unfaulted, `run` is the operation itself. */
interface Scenario {
  prepare(store: Store): Promise<string[]>;
  run(store: Store, tokens: string[]): Promise<unknown>;
  /** Can `run` be repeated on a reopened store (leases do not survive a restart)? */
  repeatable: boolean;
}

const scenarios: Record<string, Scenario> = {
  append: {
    prepare: async (store) => {
      await topology(store);
      return [];
    },
    run: (store) =>
      store.append(
        "jobs",
        [
          rec("a1"),
          rec("a2", { priority: 5 }),
          rec("", { deliverAtMs: T0 + 60_000 }),
          rec("a4", { expireAtMs: T0 + 600_000, orderingKey: "k" }),
          rec("m1"),
        ],
        T0 + 10,
      ),
    repeatable: true,
  },
  "ack (the last holder: messages leave the log)": {
    prepare: async (store) => {
      await topology(store);
      await store.ack("audit", byTokens(...tokensOf(await lease(store, "audit", 10, T0))), T0);
      return tokensOf(await lease(store, "work", 3, T0));
    },
    run: (store, tokens) => store.ack("work", byTokens(...tokens.slice(0, 2)), T0 + 10),
    repeatable: false,
  },
  "nack (give back with a delay)": {
    prepare: async (store) => {
      await topology(store);
      return tokensOf(await lease(store, "work", 4, T0));
    },
    run: (store, tokens) => store.nack("work", byTokens(...tokens), T0 + 5000, T0 + 10),
    repeatable: false,
  },
  "nack (failed, last attempt: dead letters)": {
    prepare: async (store) => {
      await topology(store);
      return failOnce(store);
    },
    run: (store, tokens) => store.nack("work", byTokens(...tokens), T0 + 1, T0 + 1, { failed: true, error: "no" }),
    repeatable: false,
  },
  "trim (released messages leave the log in a background step)": {
    prepare: async (store) => {
      await topology(store);
      await store.ack("audit", byTokens(...tokensOf(await lease(store, "audit", 10, T0))), T0);
      await store.ack("work", byTokens(...tokensOf(await lease(store, "work", 10, T0))), T0);
      return [];
    },
    run: (store) => store.sweepRetention(T0 + 10, 1000),
    repeatable: true,
  },
  redrive: {
    prepare: async (store) => {
      await topology(store);
      const tokens = await failOnce(store);
      await store.nack("work", byTokens(...tokens), T0 + 1, T0 + 1, { failed: true });
      return [];
    },
    run: (store) =>
      store.redrive("work", { maxMessages: 10, filter: {}, afterSeq: 0, untilSeq: 100, maxScan: 100 }, T0 + 20),
    repeatable: true,
  },
};

type Dump = Array<[string, string]>;

function dump(kv: KvEngine): Dump {
  const all = { start: Buffer.alloc(0), end: Buffer.alloc(MAX_KEY_BYTES, 0xff) };
  return kv.read((r) => r.range(all)).map(({ key, value }) => [key.toString("hex"), value.toString("hex")]);
}

/** Opens a store on a fresh backend with the fault injector in place. */
async function openFresh(make: () => Promise<Backend>) {
  const backend = await make();
  const faulty = new FaultyKv(backend.open());
  const failures: StoreFailure[] = [];
  // The deferred cursor write (after 100 ms without another write) and the trim's own timer
  // (20 ms after a release) must not land inside the operation whose writes are counted: on a
  // loaded machine they could. The trim is a scenario of its own (through the sweep).
  const store = new KvStore(faulty, {
    onFailure: (f) => failures.push(f),
    flushAfterMs: 2 ** 30,
    trimAfterMs: 2 ** 30,
  });
  return { backend, faulty, failures, store };
}

for (const [backendName, make] of Object.entries(backends)) {
  describe(`all or nothing (${backendName})`, () => {
    for (const [name, scenario] of Object.entries(scenarios)) {
      it(`${name} - a throw at any of its KV writes leaves the disk as before and fails the store`, async () => {
        // The operation unfaulted: how many KV writes it makes, and what the disk holds after.
        const clean = await openFresh(make);
        const tokens = await scenario.prepare(clean.store);
        clean.faulty.reset();
        const cleanResult = await scenario.run(clean.store, tokens);
        const writes = clean.faulty.writes;
        const after = dump(clean.faulty);
        await clean.store.close();
        await clean.backend.cleanup();
        assert.ok(writes >= 3, `${name} makes ${writes} KV writes`);

        for (let k = 1; k <= writes; k++) {
          const { backend, faulty, failures, store } = await openFresh(make);
          try {
            const leased = await scenario.prepare(store);
            const before = dump(faulty);
            faulty.reset(k);
            await assert.rejects(scenario.run(store, leased), { reason: "STORE_FAILED", retryable: false });
            assert.equal(faulty.writes, k, `the fault fired at write ${k}`);
            assert.deepEqual(dump(faulty), before, `throw at write ${k} of ${writes}: nothing of it is on disk`);
            assert.equal(failures.length, 1);
            assert.match(failures[0]?.message ?? "", /threw midway/);
            faulty.reset();
            await assert.rejects(store.append("jobs", [rec("later")], T0 + 30), { reason: "STORE_FAILED" });
            await assert.rejects(store.ack("work", byTokens(...leased), T0 + 30), { reason: "STORE_FAILED" });
            assert.equal(faulty.writes, 0, "a failed store writes nothing more");
            await store.close();

            // The restart: what is on disk is the state before the operation.
            const reopened = new KvStore(backend.open(), { trimAfterMs: 2 ** 30 });
            try {
              assert.deepEqual(dump(reopenedKv(reopened)), before);
              if (scenario.repeatable) {
                assert.deepEqual(await scenario.run(reopened, []), cleanResult, "the same outcome as unfaulted");
                assert.deepEqual(dump(reopenedKv(reopened)), after, "the same disk as unfaulted");
              }
              const [next] = await reopened.append("jobs", [rec("next")], T0 + 40);
              assert.equal(next?.duplicate, false);
            } finally {
              await reopened.close();
            }
          } finally {
            await backend.cleanup();
          }
        }
      });
    }
  });
}

/** The KV engine under a store (for dumps of a reopened store). */
function reopenedKv(store: KvStore): KvEngine {
  return (store as unknown as { kv: KvEngine }).kv;
}
