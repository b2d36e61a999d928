/** LmdbKv's commit delay: deferrable writes on a busy store wait, boundedly, to share the next transaction. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { openTempLmdbKv } from "../../../test/helpers/temp-lmdb-kv.js";

const openKv = (t: TestContext, ackCommitDelayMs: number) => openTempLmdbKv(t, { ackCommitDelayMs });

const key = (s: string) => Buffer.from(s);
const value = (s: string) => Buffer.from(s);
/** The next check phase: lmdb-js has handed the batch of the turn before to its write thread. */
const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Far longer than any commit here: a write that waits for it would fail the race below. */
const LONG_DELAY_MS = 60_000;
/** Rejects if `p` has not settled within `ms`: the write did not wait for the long delay. */
function settlesSoon<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} waited for the commit delay`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe("LmdbKv commit delay", () => {
  it("lmdb kv - a deferrable write on an idle store goes at once", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    await settlesSoon(
      kv.write((w) => w.put(key("a"), value("1")), { deferrable: true }),
      "a lone deferrable write",
    );
    assert.deepEqual(kv.counts(), { writes: 1, batches: 1 });
  });

  it("lmdb kv - a deferrable write on a busy store waits for the next write and shares its transaction, in call order", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    const first = kv.write((w) => w.put(key("k"), value("publish-1")));
    await nextImmediate();
    let ackRan = false;
    const ack = kv.write(
      (w) => {
        ackRan = true;
        w.put(key("k"), value("ack"));
        w.put(key("acked"), value("yes"));
        return "ack";
      },
      { deferrable: true },
    );
    await first;
    await nextImmediate();
    assert.equal(ackRan, false, "the ack is still held after the transaction before it settled");
    const beforeTxn = kv.lastTransactionId();
    const order: string[] = [];
    const second = kv.write((w) => {
      w.put(key("k"), value("publish-2"));
      return "publish-2";
    });
    await settlesSoon(
      Promise.all([
        ack.then((r) => {
          // Answered only once its transaction is committed: its writes are there to read.
          assert.deepEqual(
            kv.read((rd) => rd.get(key("acked"))),
            value("yes"),
          );
          order.push(r);
        }),
        second.then((r) => order.push(r)),
      ]),
      "the held ack",
    );
    assert.deepEqual(order, ["ack", "publish-2"]);
    assert.equal(kv.lastTransactionId() - beforeTxn, 1, "the ack and the next write in one transaction");
    assert.deepEqual(
      kv.read((r) => r.get(key("k"))),
      value("publish-2"),
      "applied in call order: the later write wins",
    );
    assert.deepEqual(kv.counts(), { writes: 3, batches: 2 });
  });

  it("lmdb kv - a held write goes by itself once the commit delay is over", async (t) => {
    const delayMs = 40;
    const kv = await openKv(t, delayMs);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    const calledAt = performance.now();
    let ranAt = 0;
    const held = kv.write(
      (w) => {
        ranAt = performance.now();
        w.put(key("q"), value("2"));
      },
      { deferrable: true },
    );
    await first;
    await settlesSoon(held, "the held write (no other write came)");
    // Timers may fire up to a millisecond early.
    assert.ok(ranAt - calledAt >= delayMs - 2, `held ${ranAt - calledAt} ms, the delay is ${delayMs} ms`);
    assert.deepEqual(
      kv.read((r) => r.get(key("q"))),
      value("2"),
    );
    assert.deepEqual(kv.counts(), { writes: 2, batches: 2 });
  });

  it("lmdb kv - an unsynced deferrable write (a trim step) is held like an Ack", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    const background = kv.write((w) => w.put(key("trim"), value("step")), { sync: false, deferrable: true });
    await first;
    const next = kv.write((w) => w.put(key("p"), value("2")));
    await settlesSoon(Promise.all([background, next]), "the held background write");
    assert.deepEqual(kv.counts(), { writes: 3, batches: 2 });
  });

  it("lmdb kv - an unsynced write that is not deferrable (a due-work write a lease waits for) is not held", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    await settlesSoon(
      kv.write((w) => w.put(key("q"), value("2")), { sync: false }),
      "an unsynced write",
    );
    await first;
  });

  it("lmdb kv - a commit delay of 0 holds nothing", async (t) => {
    const kv = await openKv(t, 0);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    await settlesSoon(
      kv.write((w) => w.put(key("q"), value("2")), { deferrable: true }),
      "a deferrable write with no delay",
    );
    await first;
    assert.deepEqual(kv.counts(), { writes: 2, batches: 2 });
  });

  it("lmdb kv - a write that throws while held fails alone; the others of its transaction commit", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    const first = kv.write((w) => w.put(key("x"), value("1")));
    await nextImmediate();
    const failing = kv.write(
      (w) => {
        w.put(key("y"), value("lost"));
        throw new Error("refused");
      },
      { deferrable: true },
    );
    await first;
    const kept = kv.write((w) => w.put(key("z"), value("3")));
    await assert.rejects(failing, /refused/);
    await kept;
    assert.equal(
      kv.read((r) => r.get(key("y"))),
      undefined,
    );
    assert.deepEqual(
      kv.read((r) => r.get(key("z"))),
      value("3"),
    );
  });

  it("lmdb kv - close commits held writes without waiting for the delay", async (t) => {
    const kv = await openKv(t, LONG_DELAY_MS);
    const first = kv.write((w) => w.put(key("p"), value("1")));
    await nextImmediate();
    const held = kv.write((w) => w.put(key("q"), value("2")), { deferrable: true });
    await settlesSoon(kv.close(), "close");
    await first;
    await held;
  });
});
