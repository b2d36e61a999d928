import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HttpError } from "./http-io.js";
import { QueueLocks } from "./queue-locks.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("restmq queue locks", () => {
  it("restmq - operations on one queue run one at a time, in order; other queues do not wait", async () => {
    const locks = new QueueLocks();
    const log: string[] = [];
    let releaseFirst!: () => void;
    const first = locks.run("q", async () => {
      log.push("q1 start");
      await new Promise<void>((r) => {
        releaseFirst = r;
      });
      log.push("q1 end");
    });
    const second = locks.run("q", async () => {
      log.push("q2");
    });
    await locks.run("other", async () => {
      log.push("other");
    });
    await tick();
    assert.deepEqual(log, ["q1 start", "other"]);
    releaseFirst();
    await Promise.all([first, second]);
    assert.deepEqual(log, ["q1 start", "other", "q1 end", "q2"]);
    await tick();
    assert.equal(locks.busy(), 0, "nothing kept for idle queues");
  });

  it("restmq - a failed operation releases the queue; a wait past the bound is 503 and the queue stays ordered", async () => {
    const locks = new QueueLocks(20);
    await assert.rejects(
      locks.run("q", async () => {
        throw new Error("boom");
      }),
      /boom/,
    );
    let release!: () => void;
    const stuck = locks.run("q", () => new Promise<void>((r) => (release = r)));
    await assert.rejects(
      locks.run("q", async () => "never"),
      (e) => e instanceof HttpError && e.status === 503,
    );
    let ran = false;
    const after = locks.run("q", async () => {
      ran = true;
    });
    await tick();
    assert.equal(ran, false, "still behind the stuck operation");
    release();
    await Promise.all([stuck, after]);
    assert.equal(ran, true);
    await tick();
    assert.equal(locks.busy(), 0);
  });
});
