/** LmdbKv's group commit: writes that arrive while a transaction is in flight share the next one. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { LmdbKv } from "./lmdb-kv.js";

async function openKv(t: TestContext): Promise<LmdbKv> {
  const path = await mkdtemp(join(tmpdir(), "switchyard-kv-"));
  const kv = LmdbKv.open({ path, durability: "flush", mapSizeBytes: 64 * 1024 * 1024 });
  t.after(async () => {
    await kv.close();
    await rm(path, { recursive: true, force: true });
  });
  return kv;
}

const key = (s: string) => Buffer.from(s);
const value = (s: string) => Buffer.from(s);
/** The next check phase: lmdb-js has handed the batch of the turn before to its write thread. */
const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("LmdbKv group commit", () => {
  it("lmdb kv - writes of later turns while a batch is in flight share one transaction, answered in order", async (t) => {
    const kv = await openKv(t);
    await kv.write((w) => w.put(key("warm"), value("up")));
    const before = kv.lastTransactionId();
    const order: string[] = [];
    const ranAfterFirst: boolean[] = [];
    const first = kv.write((w) => w.put(key("a"), value("1"))).then(() => order.push("a"));
    // lmdb-js starts the first batch on setImmediate; its commit cannot be answered before the
    // event loop polls again, so these three arrive while it is in flight, each in its own turn.
    const later: Promise<unknown>[] = [];
    for (const k of ["b", "c", "d"]) {
      await nextImmediate();
      later.push(
        kv
          .write((w) => {
            // Held until the first transaction is answered, not merely committed.
            ranAfterFirst.push(order.includes("a"));
            w.put(key(k), value(k));
            return k;
          })
          .then((r) => {
            // Answered only once its own transaction is committed: the value is there to read.
            assert.deepEqual(
              kv.read((rd) => rd.get(key(k))),
              value(k),
            );
            order.push(r);
          }),
      );
    }
    await Promise.all([first, ...later]);
    assert.deepEqual(order, ["a", "b", "c", "d"]);
    assert.deepEqual(ranAfterFirst, [true, true, true]);
    assert.equal(kv.lastTransactionId() - before, 2, "one transaction for a, one for b, c and d together");
  });

  it("lmdb kv - writes apply in the order called across a held batch; the last put of a key wins", async (t) => {
    const kv = await openKv(t);
    const writes: Promise<unknown>[] = [kv.write((w) => w.put(key("k"), value("0")))];
    for (let i = 1; i <= 5; i++) {
      await nextImmediate();
      writes.push(kv.write((w) => w.put(key("k"), value(String(i)))));
    }
    await Promise.all(writes);
    assert.deepEqual(
      kv.read((r) => r.get(key("k"))),
      value("5"),
    );
  });

  it("lmdb kv - a held write that throws fails alone; the others of its transaction commit", async (t) => {
    const kv = await openKv(t);
    const first = kv.write((w) => w.put(key("x"), value("1")));
    await nextImmediate();
    const failing = kv.write((w) => {
      w.put(key("y"), value("lost"));
      throw new Error("refused");
    });
    const kept = kv.write((w) => w.put(key("z"), value("3")));
    await first;
    await assert.rejects(failing, /refused/);
    await kept;
    assert.equal(
      kv.read((r) => r.get(key("y"))),
      undefined,
      "nothing of the failed write",
    );
    assert.deepEqual(
      kv.read((r) => r.get(key("z"))),
      value("3"),
    );
  });

  it("lmdb kv - close waits for held writes, which commit", async (t) => {
    const kv = await openKv(t);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    const held = kv.write((w) => w.put(key("q"), value("2")));
    await kv.close();
    await first;
    await held;
    await assert.rejects(
      kv.write(() => undefined),
      /closed/,
    );
  });
});
