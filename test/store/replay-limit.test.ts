/**
 * The replay bound (REPLAY_LIMIT): a Seek or snapshot that would touch more messages than one
 * transaction may is refused before anything is written, on both KV backends. The bound is set low
 * here; the default (MAX_REPLAY_ENTRIES) is the same code path.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createMemoryStore, openLmdbStore, type Store } from "../../src/store/index.js";
import { createQueue, expectReason, lease, recs, seqsOf, T0 } from "./conformance/helpers.js";

const BOUND = 5;

const backends: [string, () => Promise<{ store: Store; cleanup(): Promise<void> }>][] = [
  ["memory", async () => ({ store: createMemoryStore(undefined, BOUND), cleanup: async () => {} })],
  [
    "lmdb",
    async () => {
      const path = await mkdtemp(join(tmpdir(), "switchyard-replay-limit-"));
      const store = await openLmdbStore({ path, mapSizeBytes: 64 * 1024 * 1024, maxReplayEntries: BOUND });
      return { store, cleanup: () => rm(path, { recursive: true, force: true }) };
    },
  ],
];

for (const [name, open] of backends) {
  describe(`replay bound - ${name}`, () => {
    it("a Seek or snapshot over the bound is REPLAY_LIMIT and changes nothing; within it, it works", async (t) => {
      const { store, cleanup } = await open();
      t.after(async () => {
        await store.close();
        await cleanup();
      });
      await createQueue(store, "q");
      await store.append("q", recs(6), T0);
      await lease(store, "q", 2, T0);
      const before = await store.subscriptionCounters("q");
      await expectReason(store.createSnapshot("s", "q", T0), "REPLAY_LIMIT");
      await expectReason(store.seek("q", { kind: "seq", seq: 7 }, T0), "REPLAY_LIMIT");
      assert.deepEqual(await store.subscriptionCounters("q"), before);
      assert.deepEqual(await store.listSnapshots("", "", 10), []);
      assert.equal((await store.topicCounters("q")).messages, 6);
      await store.ack("q", { tokens: [], messageIds: ["m3", "m4"] }, T0);
      await store.createSnapshot("s", "q", T0);
      await store.seek("q", { kind: "seq", seq: 6 }, T0);
      assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [6]);
    });
  });
}
