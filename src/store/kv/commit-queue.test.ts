/** CommitQueue: which writes go at once, which wait, for how long, and in what order. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Batch, CommitQueue, type CommitQueueOptions, LONELY_HOLDS_TO_STOP } from "./commit-queue.js";

const nextImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * An engine whose batches settle only when the test says: each turn's submitted writes form one
 * batch (ended on setImmediate, like lmdb-js's event-turn batch).
 */
class FakeEngine {
  readonly queue: CommitQueue;
  /** The writes of each batch, in the order submitted. */
  readonly batches: string[][] = [];
  private readonly names = new Map<Batch, string[]>();
  private unsettled: Array<() => void> = [];

  constructor(options: Partial<CommitQueueOptions> = {}) {
    this.queue = new CommitQueue({ maxBatchesInFlight: 2, deferrableDelayMs: 0, commitDelayMs: 0, ...options });
  }

  write(name: string, deferrable = false): Promise<string> {
    return this.queue.schedule(() => this.submit(name), deferrable);
  }

  /** Settles every batch submitted so far (committed and synced). */
  settle(): void {
    const settle = this.unsettled;
    this.unsettled = [];
    for (const f of settle) f();
  }

  get submitted(): string[] {
    return this.batches.flat();
  }

  private submit(name: string): Promise<string> {
    const batch = this.queue.joinBatch((end) => setImmediate(end));
    let names = this.names.get(batch);
    if (!names) {
      names = [];
      this.names.set(batch, names);
      this.batches.push(names);
    }
    names.push(name);
    return new Promise<string>((resolve) => this.unsettled.push(() => resolve(name))).finally(() =>
      this.queue.leaveBatch(batch),
    );
  }
}

describe("CommitQueue", () => {
  it("commit queue - on an idle store every write goes at once, deferrable or not", () => {
    const e = new FakeEngine({ deferrableDelayMs: 60_000, commitDelayMs: 60_000 });
    void e.write("ack", true);
    assert.deepEqual(e.submitted, ["ack"]);
    const other = new FakeEngine({ deferrableDelayMs: 60_000, commitDelayMs: 60_000 });
    void other.write("publish");
    assert.deepEqual(other.submitted, ["publish"]);
  });

  it("commit queue - a deferrable write on a busy store waits for the next write; both share its batch in call order", async () => {
    const e = new FakeEngine({ deferrableDelayMs: 60_000 });
    const answers: string[] = [];
    const p1 = e.write("publish-1").then((r) => answers.push(r));
    await nextImmediate();
    const ack = e.write("ack", true).then((r) => answers.push(r));
    e.settle();
    await p1;
    await nextImmediate();
    assert.deepEqual(e.batches, [["publish-1"]], "the ack still waits after the batch before it settled");
    const p2 = e.write("publish-2").then((r) => answers.push(r));
    assert.deepEqual(e.batches, [["publish-1"], ["ack", "publish-2"]]);
    e.settle();
    await Promise.all([ack, p2]);
    assert.deepEqual(answers, ["publish-1", "ack", "publish-2"]);
  });

  it("commit queue - deferrable writes alone are not held: they go at once, or behind two batches in flight", async () => {
    const e = new FakeEngine({ deferrableDelayMs: 60_000 });
    void e.write("ack-1", true);
    await nextImmediate();
    void e.write("ack-2", true);
    await nextImmediate();
    void e.write("ack-3", true);
    void e.write("ack-4", true);
    assert.deepEqual(e.batches, [["ack-1"], ["ack-2"]]);
    e.settle();
    await nextImmediate();
    assert.deepEqual(e.batches, [["ack-1"], ["ack-2"], ["ack-3", "ack-4"]]);
  });

  it("commit queue - a held deferrable write goes by itself when its delay is over", async () => {
    const delayMs = 30;
    const e = new FakeEngine({ deferrableDelayMs: delayMs });
    void e.write("publish");
    await nextImmediate();
    const heldAt = performance.now();
    void e.write("ack", true);
    e.settle();
    await sleep(delayMs / 3);
    assert.deepEqual(e.submitted, ["publish"]);
    while (e.submitted.length < 2) await sleep(1);
    // Timers may fire up to a millisecond early.
    assert.ok(performance.now() - heldAt >= delayMs - 2);
    assert.deepEqual(e.batches, [["publish"], ["ack"]]);
  });

  it("commit queue - while two batches are in flight a write waits for one to settle, then goes with the others held", async () => {
    const e = new FakeEngine();
    void e.write("a");
    await nextImmediate();
    void e.write("b");
    await nextImmediate();
    void e.write("c");
    void e.write("d");
    await nextImmediate();
    assert.deepEqual(e.batches, [["a"], ["b"]]);
    e.settle();
    await nextImmediate();
    assert.deepEqual(e.batches, [["a"], ["b"], ["c", "d"]]);
  });

  it("commit queue - with a commit delay, a write while commits are frequent waits for the writes behind it, boundedly", async () => {
    const delayMs = 40;
    const e = new FakeEngine({ commitDelayMs: delayMs });
    void e.write("publish-1");
    await nextImmediate();
    e.settle();
    await nextImmediate();
    // A batch started less than twice the delay ago: commits are frequent.
    const heldAt = performance.now();
    void e.write("publish-2");
    await nextImmediate();
    void e.write("publish-3");
    assert.deepEqual(e.batches, [["publish-1"]], "both wait");
    while (e.batches.length < 2) await sleep(1);
    assert.ok(performance.now() - heldAt >= delayMs - 2);
    assert.deepEqual(e.batches, [["publish-1"], ["publish-2", "publish-3"]]);
  });

  it("commit queue - a client that waits for each answer is held only until two holds went without company", async () => {
    // Long enough that the calls below stay "frequent" (within twice the delay) on a loaded machine.
    const e = new FakeEngine({ commitDelayMs: 300 });
    const answers: string[] = [];
    /** One call in flight: the next write only after this one's answer, in a later event turn. */
    const call = async (name: string, held: boolean) => {
      const p = e.write(name).then((r) => answers.push(r));
      assert.equal(e.submitted.includes(name), !held, `${name} ${held ? "waits for company" : "goes at once"}`);
      while (!e.submitted.includes(name)) await sleep(1);
      e.settle();
      await p;
      await nextImmediate();
    };
    await call("publish-1", false); // an idle store
    for (let i = 0; i < LONELY_HOLDS_TO_STOP; i++) await call(`held-${i}`, true);
    await call("publish-after-1", false);
    await call("publish-after-2", false);
    assert.deepEqual(answers, ["publish-1", "held-0", "held-1", "publish-after-1", "publish-after-2"]);
    assert.deepEqual(
      e.batches,
      answers.map((a) => [a]),
      "every write was its own batch",
    );
  });

  it("commit queue - once writes overlap again, the commit delay holds again", async () => {
    const e = new FakeEngine({ commitDelayMs: 300 });
    void e.write("publish-1");
    await nextImmediate();
    e.settle();
    await nextImmediate();
    for (let i = 0; i < LONELY_HOLDS_TO_STOP; i++) {
      const name = `alone-${i}`;
      void e.write(name);
      assert.ok(!e.submitted.includes(name), `${name} waits for company`);
      while (!e.submitted.includes(name)) await sleep(1);
      e.settle();
      await nextImmediate();
    }
    void e.write("a");
    assert.ok(e.submitted.includes("a"), "no longer held");
    await nextImmediate();
    void e.write("b"); // comes while "a" is in flight: two writers
    assert.ok(e.submitted.includes("b"), "a write that finds a batch in flight goes at once");
    e.settle();
    await nextImmediate();
    void e.write("c");
    assert.ok(!e.submitted.includes("c"), "held for company again");
    void e.write("d");
    while (!e.submitted.includes("c")) await sleep(1);
    assert.deepEqual(e.batches.slice(-3), [["a"], ["b"], ["c", "d"]]);
  });

  it("commit queue - an Ack makes the commit delay hold again (it can share the next Publish's batch)", async () => {
    const e = new FakeEngine({ commitDelayMs: 300 });
    void e.write("publish-1");
    await nextImmediate();
    e.settle();
    await nextImmediate();
    for (let i = 0; i < LONELY_HOLDS_TO_STOP; i++) {
      void e.write(`alone-${i}`);
      while (!e.submitted.includes(`alone-${i}`)) await sleep(1);
      e.settle();
      await nextImmediate();
    }
    void e.write("ack", true);
    while (!e.submitted.includes("ack")) await sleep(1);
    e.settle();
    await nextImmediate();
    void e.write("publish-2");
    assert.ok(!e.submitted.includes("publish-2"), "held for company again");
  });

  it("commit queue - with a commit delay, a write that finds a batch in flight goes at once (the pipeline is not slowed)", async () => {
    const e = new FakeEngine({ commitDelayMs: 60_000 });
    void e.write("publish-1");
    await nextImmediate();
    void e.write("publish-2");
    assert.deepEqual(e.batches, [["publish-1"], ["publish-2"]]);
  });

  it("commit queue - a commit delay of 0 holds no write that has a batch to go in", async () => {
    const e = new FakeEngine();
    void e.write("publish-1");
    await nextImmediate();
    void e.write("ack", true);
    void e.write("publish-2");
    assert.deepEqual(e.batches, [["publish-1"], ["ack", "publish-2"]]);
  });

  it("commit queue - a write whose delay ended with two batches in flight goes when one settles, not after a later hold's delay", async () => {
    const delayMs = 20;
    const e = new FakeEngine({ deferrableDelayMs: delayMs });
    void e.write("publish-1");
    await nextImmediate();
    void e.write("publish-2");
    await nextImmediate();
    void e.write("ack-1", true);
    await sleep(delayMs + 10);
    assert.deepEqual(e.batches, [["publish-1"], ["publish-2"]], "its delay is over, but no batch has room");
    // A later deferrable write starts a new hold of its own...
    void e.write("ack-2", true);
    e.settle();
    await nextImmediate();
    // ...which does not hold the first one any longer.
    assert.deepEqual(e.batches, [["publish-1"], ["publish-2"], ["ack-1", "ack-2"]]);
  });

  it("commit queue - fail refuses the held writes instead of handing them to the engine", async () => {
    const e = new FakeEngine({ deferrableDelayMs: 60_000 });
    void e.write("publish");
    await nextImmediate();
    const ack = e.write("ack", true);
    e.queue.fail(new Error("the disk failed"));
    await assert.rejects(ack, /the disk failed/);
    assert.deepEqual(e.batches, [["publish"]]);
    e.settle();
    await nextImmediate();
    assert.deepEqual(e.batches, [["publish"]]);
  });

  it("commit queue - flush submits held writes at once", async () => {
    const e = new FakeEngine({ deferrableDelayMs: 60_000 });
    void e.write("publish");
    await nextImmediate();
    void e.write("ack", true);
    e.queue.flush();
    assert.deepEqual(e.batches, [["publish"], ["ack"]]);
  });
});
