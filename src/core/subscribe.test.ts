/** Core Subscribe streams on the memory store and a fake clock: windows, wake-ups, competition, end. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { settle, tick } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError } from "../errors/index.js";
import type { Broker, BrokerLimits, Delivery, SubscribeRequest } from "./index.js";

async function setup(t: TestContext, limits: Partial<BrokerLimits> = {}) {
  const { store, clock, broker } = startTestBroker(t, { limits });
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 1000 } });
  return { store, clock, broker };
}

const text = (d: Delivery) => Buffer.from(d.message.data).toString();
const data = (s: string) => ({ data: Buffer.from(s) });
const none = { ackIds: [] as string[], messageIds: [] as string[] };

/** Reads a stream in the background, collecting every delivery. */
function open(t: TestContext, broker: Broker, overrides: Partial<SubscribeRequest> = {}) {
  const controller = new AbortController();
  const got: Delivery[] = [];
  const batches: number[] = [];
  const s: { got: Delivery[]; batches: number[]; error?: unknown; done: Promise<void>; abort(): void } = {
    got,
    batches,
    abort: () => controller.abort(),
    done: (async () => {
      const req = { subscription: "q", maxOutstandingMessages: 0, maxOutstandingBytes: 0, ...overrides };
      for await (const batch of broker.subscribe(req, controller.signal)) {
        got.push(...batch);
        batches.push(batch.length);
      }
    })().catch((e: unknown) => {
      s.error = e;
    }),
  };
  t.after(() => controller.abort());
  return s;
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (done()) return;
    await tick();
  }
  assert.fail(`still waiting for ${what}`);
}

describe("core subscribe", () => {
  it("subscribe - a stream is woken by a publish and respects a window of 2 messages", async (t) => {
    const { broker } = await setup(t);
    const s = open(t, broker, { maxOutstandingMessages: 2 });
    await settle();
    assert.equal(s.got.length, 0);
    await broker.publish("q", ["a", "b", "c", "d", "e"].map(data));
    await until(() => s.got.length === 2, "two deliveries");
    await settle();
    assert.deepEqual(s.got.map(text), ["a", "b"], "no more than the window");
    await broker.ack("q", { ...none, ackIds: [s.got[0]?.ackId ?? ""] });
    await until(() => s.got.length === 3, "a third delivery after an ack");
    await settle();
    assert.equal(s.got.length, 3);
    await broker.nack("q", { ...none, messageIds: [s.got[1]?.message.id ?? ""] }, 60_000);
    await until(() => s.got.length === 4, "a fourth delivery after a nack by message id");
    await broker.modifyAckDeadline("q", [s.got[2]?.ackId ?? ""], 0);
    await until(() => s.got.length === 5, "a fifth delivery after ModifyAckDeadline(0)");
    assert.deepEqual(s.got.map(text), ["a", "b", "c", "d", "c"], "c, released, goes before e");
    assert.equal(s.got[4]?.deliveryAttempt, 2);
    s.abort();
    await s.done;
    assert.ok(s.error instanceof BrokerError && s.error.reason === "CANCELED", String(s.error));
  });

  it("subscribe - an ack on a stream with room does not wake it for an empty lease; a full one wakes", async (t) => {
    const { broker, store } = await setup(t);
    let leases = 0;
    const lease = store.lease.bind(store);
    store.lease = (...args) => {
      leases++;
      return lease(...args);
    };
    const s = open(t, broker, { maxOutstandingMessages: 10 });
    await broker.publish("q", ["a", "b"].map(data));
    await until(() => s.got.length === 2, "two deliveries");
    await settle();
    const leasesBefore = leases;
    await broker.ack("q", { ...none, ackIds: s.got.map((d) => d.ackId) });
    await settle();
    assert.equal(leases, leasesBefore, "the acks freed room the stream did not lack");
    await broker.publish("q", ["c"].map(data));
    await until(() => s.got.length === 3, "a publish still wakes it");
    // Fill the window: now an ack is what it waits for, and it wakes.
    await broker.publish(
      "q",
      Array.from({ length: 12 }, (_, i) => data(`f${i}`)),
    );
    await until(() => s.got.length === 12, "a full window");
    await settle();
    assert.equal(s.got.length, 12);
    await broker.ack("q", { ...none, ackIds: [s.got[2]?.ackId ?? ""] });
    await until(() => s.got.length === 13, "a delivery after an ack on the full window");
  });

  it("subscribe - after a batch that drained the subscription the stream waits without another lease", async (t) => {
    const { broker, store, clock } = await setup(t);
    let leases = 0;
    let empty = 0;
    const lease = store.lease.bind(store);
    store.lease = async (...args) => {
      leases++;
      const got = await lease(...args);
      if (got.length === 0) empty++;
      return got;
    };
    const s = open(t, broker, { maxOutstandingMessages: 100 });
    await settle();
    const [leasesBefore, emptyBefore] = [leases, empty];
    for (let round = 1; round <= 3; round++) {
      await broker.publish("q", ["a", "b", "c"].map(data));
      await until(() => s.got.length === 3 * round, "the batch");
      await settle();
    }
    assert.equal(leases - leasesBefore, 3, "one lease per publish");
    assert.equal(empty - emptyBefore, 0, "no empty lease after a batch that took everything");
    // A batch bound by its count (a quarter of a window of 8) is followed by the next at once.
    await broker.ack("q", { ...none, ackIds: s.got.map((d) => d.ackId) });
    s.abort();
    await s.done;
    const small = open(t, broker, { maxOutstandingMessages: 8 });
    await settle();
    await broker.publish("q", ["d", "e", "f", "g", "h"].map(data));
    await until(() => small.got.length >= 5, "five in batches of two");
    assert.deepEqual(small.batches.slice(-3), [2, 2, 1]);
    // A lease that ends while the stream waits brings its message back (nextDueMs wakes it).
    await broker.publish("q", ["i"].map(data));
    await until(() => small.got.some((d) => text(d) === "i"), "i");
    await settle();
    const seen = small.got.length;
    clock.advance(1001);
    await until(() => small.got.length > seen, "redelivery after the lease ended");
  });

  it("subscribe - a full window goes out in parts of at most a quarter of it, all without an ack", async (t) => {
    const { broker } = await setup(t);
    await broker.publish(
      "q",
      Array.from({ length: 12 }, (_, i) => data(`m${i}`)),
    );
    const s = open(t, broker, { maxOutstandingMessages: 10 });
    await until(() => s.got.length === 10, "the whole window");
    await settle();
    assert.equal(s.got.length, 10, "no more than the window");
    assert.deepEqual(s.batches, [3, 3, 3, 1], "responses of at most ceil(10 / 4) messages");
    assert.deepEqual(
      s.got.map(text),
      Array.from({ length: 10 }, (_, i) => `m${i}`),
    );
  });

  it("subscribe - an ack frees the window when it arrives, before its write is committed", async (t) => {
    const { broker, store } = await setup(t);
    let commit = () => {};
    const held = new Promise<void>((resolve) => {
      commit = resolve;
    });
    const ack = store.ack.bind(store);
    store.ack = (...args) => {
      const written = ack(...args);
      return held.then(() => written);
    };
    await broker.publish("q", ["a", "b", "c"].map(data));
    const s = open(t, broker, { maxOutstandingMessages: 2 });
    await until(() => s.got.length === 2, "a full window");
    let answered = false;
    const acked = broker.ack("q", { ...none, ackIds: [s.got[0]?.ackId ?? ""] }).then(() => {
      answered = true;
    });
    await until(() => s.got.length === 3, "a delivery while the ack is not yet written");
    assert.equal(answered, false, "the ack is answered only after its write");
    assert.deepEqual(s.got.map(text), ["a", "b", "c"], "the acked message is not handed out again");
    commit();
    await acked;
    assert.equal(answered, true);
  });

  it("subscribe - the bytes window holds; a message larger than the window goes out alone", async (t) => {
    const { broker } = await setup(t);
    const s = open(t, broker, { maxOutstandingBytes: 2500 });
    await broker.publish("q", [
      { data: Buffer.alloc(1000) },
      { data: Buffer.alloc(1000) },
      { data: Buffer.alloc(1000) },
      { data: Buffer.alloc(4000) },
      { data: Buffer.alloc(10) },
    ]);
    await until(() => s.got.length === 2, "two deliveries");
    await settle();
    assert.equal(s.got.length, 2, "2 × 1000 bytes fit in 2500, a third does not");
    await broker.ack("q", { ...none, ackIds: s.got.map((d) => d.ackId) });
    await until(() => s.got.length === 4, "the next two");
    await broker.ack("q", { ...none, ackIds: [s.got[2]?.ackId ?? ""] });
    await until(() => s.got.length === 4 && s.got[3]?.message.data.length === 4000, "the large one alone");
    await settle();
    assert.equal(s.got.length, 4, "nothing joins a window over its bytes");
    await broker.ack("q", { ...none, ackIds: [s.got[3]?.ackId ?? ""] });
    await until(() => s.got.length === 5, "the last one");
  });

  it("subscribe - streams and pulls on one subscription compete without duplicates", async (t) => {
    const { broker } = await setup(t);
    const a = open(t, broker, { maxOutstandingMessages: 30 });
    const b = open(t, broker, { maxOutstandingMessages: 30 });
    await settle();
    const n = 100;
    await broker.publish(
      "q",
      Array.from({ length: n }, (_, i) => data(String(i))),
    );
    const seen: string[] = [];
    const counts = { a: 0, b: 0, pull: 0 };
    const take = async (batch: Delivery[], who: keyof typeof counts) => {
      counts[who] += batch.length;
      seen.push(...batch.map(text));
      if (batch.length > 0) await broker.ack("q", { ...none, ackIds: batch.map((d) => d.ackId) });
    };
    while (seen.length < n) {
      const pulled = await broker.pull(
        { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false },
        new AbortController().signal,
      );
      await take(pulled, "pull");
      await take(a.got.splice(0), "a");
      await take(b.got.splice(0), "b");
      await settle();
    }
    assert.equal(seen.length, n);
    assert.equal(new Set(seen).size, n, "each message went to exactly one consumer");
    assert.ok(counts.a > 0 && counts.b > 0 && counts.pull > 0, JSON.stringify(counts));
  });

  it("subscribe - when a stream ends, what it held is available at once with attempt 2", async (t) => {
    const { broker } = await setup(t);
    const s = open(t, broker, { maxOutstandingMessages: 10 });
    await broker.publish("q", [data("a"), data("b"), data("c")]);
    await until(() => s.got.length === 3, "three deliveries");
    await broker.ack("q", { ...none, ackIds: [s.got[0]?.ackId ?? ""] });
    assert.equal((await broker.getStats(["q"])).subscriptions[0]?.consumers, 1);
    s.abort();
    await s.done;
    const again = await broker.pull(
      { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false },
      new AbortController().signal,
    );
    assert.deepEqual(
      again.map((d) => [text(d), d.deliveryAttempt]),
      [
        ["b", 2],
        ["c", 2],
      ],
    );
    assert.equal((await broker.getStats(["q"])).subscriptions[0]?.consumers, 0);
  });

  it("subscribe - a lease expiring frees room, and the message comes back with attempt 2", async (t) => {
    const { broker, clock } = await setup(t);
    const s = open(t, broker, { maxOutstandingMessages: 1 });
    await broker.publish("q", [data("a"), data("b")]);
    await until(() => s.got.length === 1, "one delivery");
    await settle();
    assert.equal(s.got.length, 1);
    clock.advance(1000);
    await until(() => s.got.length === 2, "a second delivery after the lease ended");
    assert.deepEqual(
      s.got.map((d) => [text(d), d.deliveryAttempt]),
      [
        ["a", 1],
        ["a", 2],
      ],
    );
  });

  it("subscribe - a stream's own ack_deadline_ms sets the lease of what it receives", async (t) => {
    const { broker, clock } = await setup(t); // the subscription's deadline is 1000 ms
    const s = open(t, broker, { maxOutstandingMessages: 1, ackDeadlineMs: 5000 });
    await broker.publish("q", [data("a")]);
    await until(() => s.got.length === 1, "one delivery");
    clock.advance(4000);
    await settle();
    assert.equal(s.got.length, 1, "still leased at 4 s");
    clock.advance(1000);
    await until(() => s.got.length === 2, "redelivery at 5 s");
    assert.equal(s.got[1]?.deliveryAttempt, 2);
    const bad = open(t, broker, { ackDeadlineMs: 600_001 });
    await bad.done;
    assert.ok(bad.error instanceof BrokerError && bad.error.reason === "INVALID_ARGUMENT", String(bad.error));
  });

  it("subscribe - a paused subscription delivers nothing until resumed", async (t) => {
    const { broker } = await setup(t);
    await broker.setPaused("q", true);
    const s = open(t, broker);
    await broker.publish("q", [data("a")]);
    await settle();
    assert.equal(s.got.length, 0);
    await broker.setPaused("q", false);
    await until(() => s.got.length === 1, "a delivery after resume");
  });

  it("subscribe - deleting the subscription ends its stream with SUBSCRIPTION_NOT_FOUND", async (t) => {
    const { broker } = await setup(t);
    const s = open(t, broker);
    await broker.publish("q", [data("a")]);
    await until(() => s.got.length === 1, "a delivery");
    await broker.deleteSubscription("q");
    await s.done;
    assert.ok(s.error instanceof BrokerError && s.error.reason === "SUBSCRIPTION_NOT_FOUND", String(s.error));
  });

  it("subscribe - limits: over the cap is INVALID_ARGUMENT; close ends a stream SHUTTING_DOWN", async (t) => {
    const { broker } = await setup(t);
    const bad = open(t, broker, { maxOutstandingMessages: 10_001 });
    await bad.done;
    assert.ok(bad.error instanceof BrokerError && bad.error.reason === "INVALID_ARGUMENT", String(bad.error));
    const s = open(t, broker);
    await settle();
    await broker.close();
    await s.done;
    assert.ok(s.error instanceof BrokerError && s.error.reason === "SHUTTING_DOWN", String(s.error));
  });
});
