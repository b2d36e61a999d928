import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import type { Store } from "../store/index.js";

/** Counts the store's appends (and the records of each). */
function countingAppends(inner: Store, sizes: number[]): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== "append") return Reflect.get(target, prop, receiver);
      return (...args: Parameters<Store["append"]>) => {
        sizes.push(args[1].length);
        return target.append(...args);
      };
    },
  });
}

const data = (n: number) => new Uint8Array([n]);
const noSignal = new AbortController().signal;

test("publish batcher - the calls of one turn share an append and get their own results", async (t) => {
  const appends: number[] = [];
  const { broker } = startTestBroker(t, { wrapStore: (s) => countingAppends(s, appends) });
  await broker.createTopic({ name: "t", queue: true });
  appends.length = 0;
  const results = await Promise.all([
    broker.publish("t", [{ data: data(1) }]),
    broker.publish("t", [{ data: data(2) }, { data: data(3), id: "a" }]),
    broker.publish("t", [{ data: data(4), id: "a" }]),
    broker.publish("t", [{ data: data(5) }]),
  ]);
  assert.deepEqual(appends, [1, 4], "the first call at once, then one append of the others, in call order");
  assert.deepEqual(
    results.map((r) => r.map((o) => [o.seq, o.duplicate])),
    [
      [[1, false]],
      [
        [2, false],
        [3, false],
      ],
      [[3, true]],
      [[4, false]],
    ],
    "seqs in call order; a client id sent twice is a duplicate the second time, as across calls",
  );
  assert.match(results[3]?.[0]?.id ?? "", /-4$/, "a generated id names its seq");
  const got = await broker.pull(
    { subscription: "t", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true },
    noSignal,
  );
  assert.deepEqual(
    got.map((d) => d.message.data[0]),
    [1, 2, 3, 5],
    "every stored message once",
  );
});

test("publish batcher - a bad call fails alone, when it is made", async (t) => {
  const appends: number[] = [];
  const { broker } = startTestBroker(t, { wrapStore: (s) => countingAppends(s, appends) });
  await broker.createTopic({ name: "t" });
  appends.length = 0;
  const outcomes = await Promise.allSettled([
    broker.publish("t", [{ data: data(1) }]),
    broker.publish("t", [{ data: data(2), priority: 12 }]),
    broker.publish("t", []),
    broker.publish("t", [{ data: data(3) }]),
  ]);
  assert.deepEqual(
    outcomes.map((o) =>
      o.status === "fulfilled" ? o.value.map((r) => r.seq) : (o.reason as { reason: string }).reason,
    ),
    [[1], "INVALID_ARGUMENT", "INVALID_ARGUMENT", [2]],
  );
  assert.deepEqual(appends, [1, 1], "the first at once; the valid ones after it still share an append");
});

test("publish batcher - when the merged append fails, each call is appended alone", async (t) => {
  const appends: number[] = [];
  const { broker } = startTestBroker(t, { wrapStore: (s) => countingAppends(s, appends) });
  await broker.createTopic({ name: "t", queue: true, maxMessages: 3, overflow: "reject" });
  appends.length = 0;
  const outcomes = await Promise.allSettled([
    broker.publish("t", [{ data: data(1) }, { data: data(2) }]),
    broker.publish("t", [{ data: data(3) }, { data: data(4) }]),
    broker.publish("t", [{ data: data(5) }]),
  ]);
  assert.deepEqual(
    outcomes.map((o) =>
      o.status === "fulfilled" ? o.value.map((r) => r.seq) : (o.reason as { reason: string }).reason,
    ),
    [[1, 2], "BACKLOG_FULL", [3]],
    "the outcomes of the calls one by one",
  );
  assert.deepEqual(appends, [2, 3, 2, 1], "the first at once; the merged append (refused), then each call alone");
});

test("publish batcher - calls at different clock readings are made with their own times", async (t) => {
  const appends: number[] = [];
  const { broker, clock, t0 } = startTestBroker(t, { wrapStore: (s) => countingAppends(s, appends) });
  await broker.createTopic({ name: "t", queue: true });
  appends.length = 0;
  const calls = [broker.publish("t", [{ data: data(1) }]), broker.publish("t", [{ data: data(2) }])];
  clock.advance(1000);
  calls.push(broker.publish("t", [{ data: data(3) }]), broker.publish("t", [{ data: data(4) }]));
  await Promise.all(calls);
  assert.deepEqual(appends, [1, 1, 2], "a new clock reading starts the next batch, after the one before");
  const got = await broker.pull(
    { subscription: "t", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: true },
    noSignal,
  );
  assert.deepEqual(
    got.map((d) => [d.message.data[0], d.message.publishTimeMs - t0]),
    [
      [1, 0],
      [2, 0],
      [3, 1000],
      [4, 1000],
    ],
  );
});

test("publish batcher - a batch is no larger than one publish may be", async (t) => {
  const appends: number[] = [];
  const { broker } = startTestBroker(t, {
    limits: { maxBatchMessages: 3 },
    wrapStore: (s) => countingAppends(s, appends),
  });
  await broker.createTopic({ name: "t" });
  appends.length = 0;
  await Promise.all([1, 2, 3, 4, 5].map((n) => broker.publish("t", [{ data: data(n) }, { data: data(n) }])));
  assert.deepEqual(appends, [2, 2, 2, 2, 2], "the first at once; two calls of two would be over 3");
  appends.length = 0;
  await Promise.all([1, 2, 3, 4].map((n) => broker.publish("t", [{ data: data(n) }])));
  assert.deepEqual(appends, [1, 3]);
});

test("publish batcher - a publish made before close reaches the store", async (t) => {
  const { broker, store } = startTestBroker(t);
  await broker.createTopic({ name: "t" });
  const published = [broker.publish("t", [{ data: data(1) }]), broker.publish("t", [{ data: data(2) }])];
  // As the server does after its grace period, here at once: the store closes right after.
  await broker.close();
  await store.close();
  assert.deepEqual(
    (await Promise.all(published)).map((r) => r.map((o) => o.seq)),
    [[1], [2]],
    "the one held for the turn's batch too",
  );
});
