/** Core replay and retention on the memory store and a fake clock: Seek, snapshots, Read, the sweep, limits. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { tick } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError, type Reason } from "../errors/index.js";
import { createMemoryStore, type Store } from "../store/index.js";
import { createFakeClock } from "../util/index.js";
import { createBroker, type ReadRequest, type StoredMessage } from "./index.js";
import { RETENTION_SWEEP_INTERVAL_MS } from "./retention-sweeper.js";

async function setup(t: TestContext) {
  const { store, clock, broker } = startTestBroker(t);
  return { store, clock, broker, t0: clock.now() };
}

/** Lets the core run (store calls resolve on later turns) until `done()` holds, or fails. */
async function until(done: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await done()) return;
    await tick();
  }
  assert.fail(`still waiting for ${what}`);
}

function isReason(reason: Reason, field?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.reason, reason, e.message);
    if (field !== undefined) assert.equal(e.metadata.field, field);
    return true;
  };
}

const data = (s: string) => ({ data: Buffer.from(s) });
const never = new AbortController().signal;
const seqs = (ms: readonly StoredMessage[]) => ms.map((m) => m.seq);
const read = (overrides: Partial<ReadRequest> = {}): ReadRequest => ({
  topic: "log",
  from: { kind: "seq", seq: 1 },
  follow: false,
  maxMessages: 0,
  ...overrides,
});

/** Collects every batch of a finite Read. */
async function readAll(it: AsyncIterable<StoredMessage[]>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const batch of it) out.push(seqs(batch));
  return out;
}

describe("core replay", () => {
  it("seek - by time: messages published at or after the time come back; earlier ones count as acked", async (t) => {
    const { clock, broker, t0 } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, retainAckedMs: 60_000 });
    for (const s of ["a", "b", "c"]) {
      await broker.publish("q", [data(s)]);
      clock.advance(1000);
    }
    const first = await broker.pull(
      { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true },
      never,
    );
    assert.equal(first.length, 3);
    await broker.seek("q", { kind: "time", timeMs: t0 + 500 });
    const again = await broker.peek("q", 10);
    assert.deepEqual(
      again.map((d) => d.message.seq),
      [2, 3],
    );
    await broker.seek("q", { kind: "time", timeMs: t0 });
    assert.equal((await broker.getStats(["q"])).subscriptions[0]?.backlog, 3);
  });

  it("seek - validation: bad targets have stable reasons and change nothing", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [data("a")]);
    await assert.rejects(broker.seek("q", { kind: "seq", seq: 0 }), isReason("INVALID_ARGUMENT", "seq"));
    await assert.rejects(broker.seek("q", { kind: "seq", seq: 3 }), isReason("INVALID_ARGUMENT", "seq"));
    await assert.rejects(broker.seek("q", { kind: "time", timeMs: -1 }), isReason("INVALID_ARGUMENT", "time"));
    await assert.rejects(broker.seek("q", { kind: "snapshot", name: "" }), isReason("INVALID_NAME"));
    await assert.rejects(broker.seek("q", { kind: "snapshot", name: "nope" }), isReason("SNAPSHOT_NOT_FOUND"));
    await assert.rejects(broker.seek("nope", { kind: "seq", seq: 1 }), isReason("SUBSCRIPTION_NOT_FOUND"));
    await assert.rejects(broker.createSnapshot("bad\u0001name", "q"), isReason("INVALID_NAME"));
    await assert.rejects(broker.deleteSnapshot("nope"), isReason("SNAPSHOT_NOT_FOUND"));
    assert.equal((await broker.peek("q", 10)).length, 1);
  });

  it("seek - wakes a waiting pull with the replayed messages", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, retainAckedMs: 60_000 });
    await broker.publish("q", [data("a")]);
    await broker.pull({ subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true }, never);
    const waiting = broker.pull(
      { subscription: "q", maxMessages: 10, waitMs: 30_000, ackDeadlineMs: 0, autoAck: false },
      never,
    );
    await tick();
    await broker.seek("q", { kind: "seq", seq: 1 });
    assert.deepEqual(
      (await waiting).map((d) => [d.message.seq, d.deliveryAttempt]),
      [[1, 1]],
    );
  });

  it("snapshots - create, list with pages, seek to, delete", async (t) => {
    const { broker, t0 } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [data("a"), data("b")]);
    const snap = await broker.createSnapshot("before", "q");
    assert.deepEqual(snap, {
      name: "before",
      subscription: "q",
      topic: "q",
      createTimeMs: t0,
      lastSeq: 2,
      messages: 2,
    });
    await assert.rejects(broker.createSnapshot("before", "q"), isReason("ALREADY_EXISTS"));
    await broker.createSnapshot("after", "q");
    const page1 = await broker.listSnapshots("q", 1, "");
    assert.deepEqual(
      page1.items.map((s) => s.name),
      ["after"],
    );
    const page2 = await broker.listSnapshots("q", 1, page1.nextPageToken);
    assert.deepEqual([page2.items.map((s) => s.name), page2.nextPageToken], [["before"], ""]);
    await broker.pull({ subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true }, never);
    await broker.seek("q", { kind: "snapshot", name: "before" });
    assert.equal((await broker.peek("q", 10)).length, 2);
    await broker.deleteSnapshot("before");
    await broker.deleteSnapshot("after");
    assert.deepEqual((await broker.listSnapshots("", 0, "")).items, []);
  });

  it("read - from a seq and from a time, in batches, without leasing anything", async (t) => {
    const { clock, broker, t0 } = await setup(t);
    await broker.createTopic({ name: "log", queue: true });
    for (let i = 0; i < 5; i++) {
      await broker.publish("log", [data(`m${i}`)]);
      clock.advance(100);
    }
    assert.deepEqual(await readAll(broker.read(read({ maxMessages: 2 }), never)), [[1, 2], [3, 4], [5]]);
    assert.deepEqual(await readAll(broker.read(read({ from: { kind: "seq", seq: 4 } }), never)), [[4, 5]]);
    assert.deepEqual(await readAll(broker.read(read({ from: { kind: "time", timeMs: t0 + 150 } }), never)), [
      [3, 4, 5],
    ]);
    assert.deepEqual(await readAll(broker.read(read({ from: { kind: "seq", seq: 9 } }), never)), []);
    assert.equal((await broker.peek("log", 10)).length, 5, "nothing was leased");
    await assert.rejects(readAll(broker.read(read({ topic: "nope" }), never)), isReason("TOPIC_NOT_FOUND"));
    await assert.rejects(readAll(broker.read(read({ maxMessages: 1001 }), never)), isReason("INVALID_ARGUMENT"));
  });

  it("read - follow: woken by a publish, ended by the client's signal and by shutdown", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "log", queue: true });
    await broker.publish("log", [data("a")]);
    const stop = new AbortController();
    const got: number[][] = [];
    const done = (async () => {
      for await (const batch of broker.read(read({ follow: true }), stop.signal)) got.push(seqs(batch));
    })();
    const outcome = done.then(
      () => "ended",
      (e: unknown) => (e instanceof BrokerError ? e.reason : String(e)),
    );
    await until(() => got.length === 1, "the stored message");
    await broker.publish("log", [data("b"), data("c")]);
    await until(() => got.length === 2, "the new messages");
    assert.deepEqual(got, [[1], [2, 3]]);
    stop.abort();
    assert.equal(await outcome, "CANCELED");

    const other = (async () => {
      for await (const _ of broker.read(read({ follow: true, from: { kind: "seq", seq: 4 } }), never)) {
        assert.fail("no messages expected");
      }
    })().then(
      () => "ended",
      (e: unknown) => (e instanceof BrokerError ? e.reason : String(e)),
    );
    await tick();
    await broker.close();
    assert.equal(await other, "SHUTTING_DOWN");
  });

  it("read - a paused reader holds one batch: the log is read page by page as the reader asks", async (t) => {
    let pages = 0;
    const counted = (store: Store): Store =>
      new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === "readLog") {
            return (...args: Parameters<Store["readLog"]>) => {
              pages++;
              return target.readLog(...args);
            };
          }
          const value = Reflect.get(target, prop, receiver);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const { broker } = startTestBroker(t, { wrapStore: counted });
    await broker.createTopic({ name: "log", queue: true });
    await broker.publish(
      "log",
      Array.from({ length: 1000 }, () => data("x")),
    );
    const it = broker.read(read({ maxMessages: 10 }), never)[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.length, 10);
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(pages, 1, "nothing is read ahead of the reader");
    await it.next();
    assert.equal(pages, 2);
    await it.return?.();
  });

  it("retention - the sweep timer drops retained messages after retain_acked_ms", async (t) => {
    const { clock, broker, store } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, retainAckedMs: 5000 });
    await broker.publish("q", [data("a"), data("b")]);
    await broker.pull({ subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true }, never);
    const stored = async () => (await store.topicCounters("q")).messages;
    assert.equal(await stored(), 2);
    clock.advance(4000);
    await tick();
    assert.equal(await stored(), 2, "still within retention");
    clock.advance(1000);
    await until(async () => (await stored()) === 0, "the sweep");
  });

  it("retention - a broker on a store with retention (a restart) starts the sweep by itself", async (t) => {
    // Two brokers, one after the other, on one store: built by hand (the test broker owns its store).
    const store = createMemoryStore();
    const clock = createFakeClock();
    const first = createBroker({ store, clock });
    await first.createTopic({ name: "q", queue: true, maxAgeMs: 1000 });
    await first.publish("q", [data("a")]);
    await first.close();
    const second = createBroker({ store, clock });
    t.after(async () => {
      await second.close();
      await store.close();
    });
    await until(() => clock.pendingTimers() > 0, "the sweep timer");
    clock.advance(1000);
    await until(async () => (await store.topicCounters("q")).messages === 0, "the sweep");
  });

  it("retention - a broker without retention or limits runs no sweep timer", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(clock.pendingTimers(), 0);
  });

  it("retention - max_age_ms drops unacked messages by age, through the sweep timer", async (t) => {
    const { clock, broker, store } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, maxAgeMs: 2000 });
    await broker.publish("q", [data("a")]);
    clock.advance(1000);
    await broker.publish("q", [data("b")]);
    clock.advance(RETENTION_SWEEP_INTERVAL_MS);
    await until(async () => (await store.topicCounters("q")).messages === 1, "the first to age out");
    assert.deepEqual(
      (await broker.peek("q", 10)).map((d) => d.message.seq),
      [2],
    );
    assert.equal((await broker.getStats(["q"])).subscriptions[0]?.backlog, 1);
  });

  it("limits - reject: a publish over max_messages is BACKLOG_FULL; drop_oldest keeps the newest", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "r", queue: true, maxMessages: 2 });
    await broker.publish("r", [data("a"), data("b")]);
    await assert.rejects(broker.publish("r", [data("c")]), isReason("BACKLOG_FULL"));
    await broker.createTopic({ name: "d", queue: true, maxMessages: 2, overflow: "drop_oldest" });
    await broker.publish("d", [data("a"), data("b"), data("c")]);
    assert.deepEqual(
      (await broker.peek("d", 10)).map((d) => d.message.seq),
      [2, 3],
    );
  });
});
