/**
 * Work per transaction is bounded by bytes, not only by count (issue 13, point 8; issue 16):
 * background steps (counting a new subscription's backlog, releasing, purging, deleting a topic)
 * read message headers through views within a byte budget per step, and drop keys without
 * reading values; delivery, Peek, Seek and the log read copy only what they return. Measured
 * with a counting KV engine on messages of 256 KiB: what a transaction reads stays under a bound
 * that does not grow with the backlog.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { STEP_MAX_BYTES } from "../../src/store/engine/step-budget.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";
import { CountingKv } from "../helpers/counting-kv.js";
import { rec, subSettings, T0, topicSettings } from "./conformance/helpers.js";

const MESSAGE_BYTES = 256 * 1024;
/** 30 MiB of messages: far more than one step may read. */
const N = 120;
/** One step: its byte budget, plus the message that crossed it, plus headers and bookkeeping. */
const STEP_BOUND = STEP_MAX_BYTES + MESSAGE_BYTES + 64 * 1024;
/** What an operation that returns no message may copy (records, cursors, index entries). */
const SMALL = 64 * 1024;

it("bounded bytes - steps, leases, peeks, seeks and reads copy only what they return", async () => {
  const kv = new CountingKv(new MemoryKv());
  const store = new KvStore(kv);
  const sweepAll = async (what: string) => {
    let steps = 0;
    while ((await store.sweepRetention(T0, 10_000)).more) steps++;
    const w = kv.take();
    assert.ok(w.viewedBytes <= STEP_BOUND, `${what}: a sweep step viewed ${w.viewedBytes} bytes`);
    assert.ok(w.copiedBytes <= SMALL, `${what}: a sweep step copied ${w.copiedBytes} bytes`);
    return steps;
  };
  try {
    await store.createTopic(topicSettings("t"), T0, subSettings("keep", "t"));
    const data = Buffer.alloc(MESSAGE_BYTES, 7);
    for (let i = 0; i < N; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => rec("", { data, attributes: { k: String((i + j) % 2) } }));
      await store.append("t", batch, T0);
    }
    kv.take();

    // A filtered subscription from the earliest message: its backlog is counted in steps.
    await store.createSubscription(subSettings("late", "t", { filter: { k: "1" }, start: { kind: "earliest" } }), T0);
    let w = kv.take();
    assert.ok(w.viewedBytes <= STEP_BOUND, `CreateSubscription viewed ${w.viewedBytes}`);
    assert.ok(w.copiedBytes <= SMALL, `CreateSubscription copied ${w.copiedBytes}`);
    assert.ok((await sweepAll("count")) > 0, "the count took more than one step");
    assert.equal((await store.subscriptionCounters("late")).unacked, N / 2);
    kv.take();

    // A lease of one message reads one message, whatever the backlog.
    const [one] = await store.lease("keep", { max: 1, leaseMs: 60_000, nowMs: T0, autoAck: false });
    assert.equal(one?.message.data.length, MESSAGE_BYTES);
    w = kv.take();
    assert.ok(w.copiedBytes + w.viewedBytes <= 2 * MESSAGE_BYTES + SMALL, `lease of 1 read ${JSON.stringify(w)}`);

    // Peek stops at its byte bound as it reads: four messages of 256 KiB fit in 1 MiB.
    const peeked = await store.peek("keep", 100, T0, false, 1024 * 1024);
    assert.equal(peeked.length, 3, "three deliveries (with their framing) fit in 1 MiB");
    w = kv.take();
    assert.ok(w.copiedBytes <= 3 * MESSAGE_BYTES + SMALL, `peek copied ${w.copiedBytes}`);
    assert.ok(w.viewedBytes <= 5 * MESSAGE_BYTES, `peek viewed ${w.viewedBytes}`);
    const back = await store.peek("keep", 100, T0, true, 1024 * 1024);
    assert.equal(back.length, 3);
    assert.ok(kv.take().copiedBytes <= 3 * MESSAGE_BYTES + SMALL, "peek from the back");

    // A Seek copies no message (it reads headers to count what changes).
    await store.seek("late", { kind: "seq", seq: 1 }, T0);
    assert.ok(kv.take().copiedBytes <= SMALL, "Seek");

    // The log read copies only the page.
    const page = await store.readLog("t", 1, 100, 1024 * 1024, T0);
    assert.equal(page.messages.length, 4);
    assert.ok(kv.take().copiedBytes <= 5 * MESSAGE_BYTES, "ReadLog");

    // DeleteSubscription: what only it held is released in steps.
    await store.deleteSubscription("late");
    w = kv.take();
    assert.ok(w.viewedBytes <= STEP_BOUND && w.copiedBytes <= SMALL, `DeleteSubscription ${JSON.stringify(w)}`);
    await sweepAll("release");

    // Purge: counts at once, the log deleted in steps of bounded bytes.
    assert.equal(await store.purgeTopic("t"), N);
    w = kv.take();
    assert.ok(w.viewedBytes <= STEP_BOUND && w.copiedBytes <= SMALL, `PurgeTopic ${JSON.stringify(w)}`);
    assert.ok((await sweepAll("purge")) > 0, "the purge took more than one step");

    // DeleteTopic drops keys without reading a value.
    for (let i = 0; i < N; i += 10) {
      await store.append(
        "t",
        Array.from({ length: 10 }, () => rec("", { data, priority: 1 })),
        T0,
      );
    }
    kv.take();
    await store.deleteTopic("t");
    w = kv.take();
    assert.equal(w.viewedBytes, 0, "DeleteTopic reads no message");
    assert.ok(w.copiedBytes <= SMALL, `DeleteTopic copied ${w.copiedBytes}`);
    await sweepAll("drop");
  } finally {
    await store.close();
  }
});
