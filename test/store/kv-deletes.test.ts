/**
 * The `deletes` option of a KV write (src/store/kv/kv.ts): keys named when the write joins its
 * transaction and deleted in it, ahead of the callback. Both engines, the same answers: the
 * deletes and the callback's writes land together (LMDB: one transaction), the callback sees the
 * keys gone, missing keys are skipped, a callback that throws loses its own writes but not the
 * deletes, and a `deletes` that throws writes nothing. LMDB runs them on lmdb-js's write thread.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { KvEngine } from "../../src/store/kv/kv.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";

const key = (n: number) => Buffer.of(7, n);
const all = { start: key(0), end: key(255) };
const present = (kv: KvEngine) => kv.read((r) => r.keys(all).map((k) => k[1]));

async function fill(kv: KvEngine): Promise<void> {
  await kv.write((w) => {
    for (let n = 1; n <= 6; n++) w.put(key(n), Buffer.from(`v${n}`));
  });
}

const engines: Array<[string, () => Promise<{ kv: KvEngine; done: () => Promise<void> }>]> = [
  ["memory", async () => ({ kv: new MemoryKv(), done: async () => {} })],
  [
    "LMDB",
    async () => {
      const path = await mkdtemp(join(tmpdir(), "kv-deletes-"));
      const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 16 * 1024 * 1024 });
      return {
        kv,
        done: async () => {
          await kv.close();
          await rm(path, { recursive: true, force: true });
        },
      };
    },
  ],
];

for (const [name, make] of engines) {
  describe(`KV write deletes (${name})`, () => {
    it(`kv deletes (${name}) - named once when the write runs, gone before the callback, committed with its writes`, async () => {
      const { kv, done } = await make();
      try {
        await fill(kv);
        let calls = 0;
        const seenInside = await kv.write(
          (w) => {
            w.put(key(9), Buffer.from("v9"));
            return [w.get(key(2)), w.get(key(3)), w.keys(all).map((k) => k[1])];
          },
          {
            deletes: () => {
              calls++;
              // Read when the write joins its transaction: the committed state is readable.
              assert.deepEqual(present(kv), [1, 2, 3, 4, 5, 6]);
              return [key(2), key(3), key(200)]; // 200 is not there: skipped
            },
          },
        );
        assert.equal(calls, 1);
        assert.deepEqual(seenInside, [undefined, undefined, [1, 4, 5, 6, 9]], "the callback sees them gone");
        assert.deepEqual(present(kv), [1, 4, 5, 6, 9]);
      } finally {
        await done();
      }
    });

    it(`kv deletes (${name}) - a callback that throws loses its own writes; the deletes stay (harmless by contract)`, async () => {
      const { kv, done } = await make();
      try {
        await fill(kv);
        const boom = new Error("boom");
        await assert.rejects(
          kv.write(
            (w) => {
              w.put(key(9), Buffer.from("v9"));
              w.del(key(1));
              throw boom;
            },
            { deletes: () => [key(4)] },
          ),
          (e) => e === boom,
        );
        assert.deepEqual(present(kv), [1, 2, 3, 5, 6]);
      } finally {
        await done();
      }
    });

    it(`kv deletes (${name}) - a deletes that throws rejects the write, and nothing is written`, async () => {
      const { kv, done } = await make();
      try {
        await fill(kv);
        const boom = new Error("plan failed");
        let ran = false;
        await assert.rejects(
          kv.write(
            (w) => {
              ran = true;
              w.put(key(9), Buffer.from("v9"));
            },
            {
              deletes: () => {
                throw boom;
              },
            },
          ),
          (e) => e === boom,
        );
        assert.equal(ran, false);
        assert.deepEqual(present(kv), [1, 2, 3, 4, 5, 6]);
        await kv.write((w) => w.put(key(10), Buffer.from("v10")));
        assert.deepEqual(present(kv), [1, 2, 3, 4, 5, 6, 10], "later writes go on");
      } finally {
        await done();
      }
    });

    it(`kv deletes (${name}) - writes of one event turn, deletes among them, keep their order`, async () => {
      const { kv, done } = await make();
      try {
        await fill(kv);
        const a = kv.write((w) => w.put(key(7), Buffer.from("v7")));
        const b = kv.write((w) => w.keys(all).map((k) => k[1]), { deletes: () => [key(1), key(7)] });
        const c = kv.write((w) => w.put(key(1), Buffer.from("again")));
        await a;
        // The deletes run when b joins, after a's callback is queued: on LMDB a's callback runs after
        // them in the shared transaction, so key 7 may be there or not; key 1 is gone for b.
        assert.equal((await b).includes(1), false);
        await c;
        assert.equal(kv.read((r) => r.get(key(1)))?.toString(), "again", "the write after it wins");
      } finally {
        await done();
      }
    });
  });
}

describe("KV write deletes (LMDB transaction)", () => {
  it("kv deletes (LMDB) - the deletes and the callback's writes are one transaction", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "kv-deletes-txn-"));
    const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 16 * 1024 * 1024 });
    t.after(async () => {
      await kv.close();
      await rm(path, { recursive: true, force: true });
    });
    await fill(kv);
    const before = kv.lastTransactionId();
    await kv.write((w) => w.put(key(9), Buffer.from("v9")), { deletes: () => [key(1), key(2), key(3)] });
    assert.equal(kv.lastTransactionId(), before + 1, "one commit for both");
    assert.deepEqual(present(kv), [4, 5, 6, 9]);
  });

  it("kv deletes (LMDB) - more deletes than lmdb-js starts a batch early for (1,000) still share the callback's transaction", async (t) => {
    const path = await mkdtemp(join(tmpdir(), "kv-deletes-many-"));
    const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024 });
    t.after(async () => {
      await kv.close();
      await rm(path, { recursive: true, force: true });
    });
    const many = (i: number) => Buffer.of(9, i >> 8, i & 255);
    await kv.write((w) => {
      for (let i = 0; i < 5000; i++) w.put(many(i), Buffer.alloc(100, 1));
    });
    const before = kv.lastTransactionId();
    const seen = await kv.write(
      (w) => {
        w.put(key(9), Buffer.from("v9"));
        return w.keys({ start: Buffer.of(9), end: Buffer.of(10) }).length;
      },
      { deletes: () => Array.from({ length: 5000 }, (_, i) => many(i)) },
    );
    assert.equal(seen, 0, "the callback ran after every delete");
    assert.equal(kv.lastTransactionId(), before + 1, "one commit for all of them");
    assert.equal(
      kv.read((r) => r.keys({ start: Buffer.of(9), end: Buffer.of(10) }).length),
      0,
    );
  });
});
