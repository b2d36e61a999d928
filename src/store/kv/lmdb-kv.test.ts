/** LmdbKv's group commit: writes that arrive while two transactions are in flight share the next one. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { openTempLmdbKv } from "../../../test/helpers/temp-lmdb-kv.js";

const openKv = (t: TestContext) => openTempLmdbKv(t, { mapSizeBytes: 256 * 1024 * 1024 });

const key = (s: string) => Buffer.from(s);
const value = (s: string) => Buffer.from(s);
/** The next check phase: lmdb-js has handed the batch of the turn before to its write thread. */
const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("LmdbKv group commit", () => {
  it("lmdb kv - writes of later turns while two batches are in flight share one transaction, answered in order", async (t) => {
    const kv = await openKv(t);
    await kv.write((w) => w.put(key("warm"), value("up")));
    const before = kv.lastTransactionId();
    const order: string[] = [];
    const ranAfterFirst: boolean[] = [];
    // a's value is large, so its transaction stays in flight while the others arrive.
    const storedValue = (k: string) => (k === "a" ? Buffer.alloc(16 * 1024 * 1024, 1) : value(k));
    const write = (k: string, held: boolean) =>
      kv
        .write((w) => {
          // A held write goes only once a transaction before it is answered, not merely committed.
          if (held) ranAfterFirst.push(order.includes("a"));
          w.put(key(k), storedValue(k));
          return k;
        })
        .then((r) => {
          // Answered only once its own transaction is committed: the value is there to read.
          assert.deepEqual(
            kv.read((rd) => rd.get(key(k))),
            storedValue(k),
          );
          order.push(r);
        });
    // lmdb-js starts each turn's batch on setImmediate; a commit cannot be answered before the
    // event loop polls again, so each of these arrives while the ones before are in flight.
    const writes = [write("a", false)];
    for (const [k, held] of [
      ["b", false],
      ["c", true],
      ["d", true],
      ["e", true],
    ] as const) {
      await nextImmediate();
      writes.push(write(k, held));
    }
    assert.ok(!order.includes("a"), "the first transaction was still in flight when the last write came");
    await Promise.all(writes);
    assert.deepEqual(order, ["a", "b", "c", "d", "e"]);
    assert.deepEqual(ranAfterFirst, [true, true, true]);
    // a and b may share one too (lmdb-js adds to a batch its write thread has not begun).
    const transactions = kv.lastTransactionId() - before;
    assert.ok(transactions >= 2 && transactions <= 3, `c, d and e together: ${transactions} transactions`);
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

  it("lmdb kv - in a shared transaction a write that throws fails alone with its own error; the others are answered in order", async (t) => {
    const kv = await openKv(t);
    await kv.write((w) => w.put(key("warm"), value("up")));
    // Three rounds: a failed write must leave its batch (two leaked batches would hold every later write).
    for (let round = 0; round < 3; round++) {
      const before = kv.lastTransactionId();
      const answered: string[] = [];
      const boom = new Error(`refused ${round}`);
      const write = (k: string, fail: boolean) =>
        kv
          .write((w) => {
            w.put(key(k), value(String(round)));
            if (fail) throw boom;
            return k;
          })
          .then((r) => {
            // Answered only once its transaction is committed: the value is there to read.
            assert.deepEqual(
              kv.read((rd) => rd.get(key(k))),
              value(String(round)),
            );
            answered.push(r);
          });
      const writes = [write("a", false), write("b", true), write("c", false)];
      const [a, b, c] = await Promise.allSettled(writes);
      assert.equal(a?.status, "fulfilled");
      assert.deepEqual(b, { status: "rejected", reason: boom });
      assert.equal(c?.status, "fulfilled");
      assert.deepEqual(answered, ["a", "c"]);
      if (round > 0)
        assert.deepEqual(
          kv.read((r) => r.get(key("b"))),
          value(String(round - 1)),
          "b kept its last value",
        );
      else
        assert.equal(
          kv.read((r) => r.get(key("b"))),
          undefined,
          "nothing of the failed write",
        );
      assert.equal(kv.lastTransactionId() - before, 1, "one transaction for the turn's three writes");
      // b succeeds next round's warm-up, so its key has a value from then on.
      await kv.write((w) => w.put(key("b"), value(String(round))));
    }
    assert.deepEqual(kv.counts().writes, 1 + 3 * 4);
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
