/** Redrive with the memory store: all, up to N, by filter; source subscription only; atomic steps. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { rejectsWith } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError } from "../errors/index.js";
import { DEAD_LETTER_ATTRIBUTES as A, type Store } from "../store/index.js";

const never = new AbortController().signal;

/**
 * jobs → work (1 attempt, DLQ jobs-dlq) and audit; jobs-dlq is a queue. `n` messages j1..jn
 * (kind a for odd, b for even) are dead-lettered from work; jobs-dlq also holds one foreign message.
 */
async function setup(t: TestContext, n: number, wrap: (s: Store) => Store = (s) => s) {
  const { broker } = startTestBroker(t, { wrapStore: wrap });
  await broker.createTopic({ name: "jobs" });
  await broker.createTopic({ name: "jobs-dlq", queue: true });
  await broker.createSubscription({ name: "work", topic: "jobs", maxDeliveryAttempts: 1, deadLetterTopic: "jobs-dlq" });
  await broker.createSubscription({ name: "audit", topic: "jobs" });
  await broker.publish("jobs-dlq", [{ id: "foreign", data: Buffer.from("f") }]);
  for (let i = 1; i <= n; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, n - i + 1) }, (_, k) => i + k);
    await broker.publish(
      "jobs",
      batch.map((j) => ({ id: `j${j}`, data: Buffer.from(`d${j}`), attributes: { kind: j % 2 ? "a" : "b" } })),
    );
  }
  const pull = (subscription: string, maxMessages = 1000) =>
    broker.pull({ subscription, maxMessages, waitMs: 0, ackDeadlineMs: 0, autoAck: false }, never);
  for (;;) {
    const got = await pull("work");
    if (got.length === 0) break;
    await broker.nack("work", { ackIds: got.map((d) => d.ackId), messageIds: [] }, 0, "boom");
  }
  const backlog = async (name: string) =>
    (await broker.getStats([])).subscriptions.find((s) => s.name === name)?.backlog;
  const drain = async (subscription: string) => {
    const out: string[] = [];
    for (;;) {
      const got = await pull(subscription);
      if (got.length === 0) return out.sort();
      out.push(...got.map((d) => d.message.id));
      await broker.ack(subscription, { ackIds: got.map((d) => d.ackId), messageIds: [] });
    }
  };
  return { broker, pull, backlog, drain };
}

describe("redrive", () => {
  it("redrive - all: back on the source subscription only, as they were, with fresh attempts", async (t) => {
    const { broker, pull, backlog } = await setup(t, 5);
    assert.equal(await backlog("jobs-dlq"), 6);
    assert.equal(await broker.redrive("work", 0, {}), 5);
    assert.equal(await backlog("jobs-dlq"), 1, "only the foreign message stays");
    assert.equal(await backlog("audit"), 5, "no copy for the other subscriptions");
    const got = await pull("work");
    assert.deepEqual(
      got.map((d) => [d.message.id, Buffer.from(d.message.data).toString(), d.deliveryAttempt]),
      [1, 2, 3, 4, 5].map((j) => [`j${j}`, `d${j}`, 1]),
    );
    assert.deepEqual(got[1]?.message.attributes, { kind: "b" }, "dead-letter attributes stripped");
    assert.equal(await broker.redrive("work", 0, {}), 0, "nothing left to move");
  });

  it("redrive - up to N, then the rest", async (t) => {
    const { broker, backlog, drain } = await setup(t, 5);
    assert.equal(await broker.redrive("work", 2, {}), 2);
    assert.equal(await backlog("jobs-dlq"), 4);
    assert.deepEqual(await drain("work"), ["j1", "j2"]);
    assert.equal(await broker.redrive("work", 0, {}), 3);
    assert.deepEqual(await drain("work"), ["j3", "j4", "j5"]);
  });

  it("redrive - matching a filter on own or dead-letter attributes", async (t) => {
    const { broker, backlog, drain } = await setup(t, 5);
    assert.equal(await broker.redrive("work", 0, { kind: "b" }), 2);
    assert.deepEqual(await drain("work"), ["j2", "j4"]);
    assert.equal(await broker.redrive("work", 0, { kind: "a", [A.lastError]: "nope" }), 0);
    assert.equal(await broker.redrive("work", 0, { kind: "a", [A.lastError]: "boom" }), 3);
    assert.equal(await backlog("jobs-dlq"), 1);
  });

  it("redrive - a dead letter leased on the dead-letter topic moves too; that lease is gone", async (t) => {
    const { broker, pull, backlog } = await setup(t, 1);
    const held = await pull("jobs-dlq");
    assert.equal(held.length, 2);
    assert.equal(await broker.redrive("work", 0, {}), 1);
    const stats = (await broker.getStats(["jobs-dlq"])).subscriptions[0];
    assert.equal(stats?.inFlight, 1, "only the foreign message is still leased");
    assert.equal(await backlog("work"), 1);
    const mine = held.find((d) => d.message.attributes[A.sourceId] === "j1");
    assert.ok(mine);
    await rejectsWith(broker.ack("jobs-dlq", { ackIds: [mine.ackId], messageIds: [] }), "DELIVERY_UNKNOWN");
  });

  it("redrive - a failure partway loses and duplicates nothing, and says how many moved", async (t) => {
    let calls = 0;
    const failSecondStep = (s: Store): Store =>
      new Proxy(s, {
        get(target, prop, receiver) {
          if (prop !== "redrive") return Reflect.get(target, prop, receiver);
          return (...args: Parameters<Store["redrive"]>) => {
            calls++;
            if (calls === 2) return Promise.reject(new BrokerError("STORE_UNAVAILABLE", "disk trouble"));
            return target.redrive(...args);
          };
        },
      });
    const { broker, backlog, drain } = await setup(t, 1200, failSecondStep);
    assert.equal(await backlog("jobs-dlq"), 1201);
    await rejectsWith(broker.redrive("work", 0, {}), "STORE_UNAVAILABLE", { redriven: "500" });
    assert.equal(await backlog("work"), 500);
    assert.equal(await backlog("jobs-dlq"), 701, "every message is in exactly one place");
    assert.equal(await broker.redrive("work", 0, {}), 700);
    const ids = await drain("work");
    assert.equal(ids.length, 1200);
    assert.equal(new Set(ids).size, 1200, "no duplicates");
    assert.equal(await backlog("jobs-dlq"), 1);
  });

  it("redrive - bad input fails with a stable reason and changes nothing", async (t) => {
    const { broker, backlog } = await setup(t, 2);
    await rejectsWith(broker.redrive("audit", 0, {}), "NO_DEAD_LETTER_TOPIC", { subscription: "audit" });
    await rejectsWith(broker.redrive("nope", 0, {}), "SUBSCRIPTION_NOT_FOUND");
    await rejectsWith(broker.redrive("", 0, {}), "INVALID_NAME");
    await rejectsWith(broker.redrive("work", -1, {}), "INVALID_ARGUMENT", { field: "max_messages" });
    await rejectsWith(broker.redrive("work", 0, { "": "x" }), "INVALID_ARGUMENT", { field: "filter" });
    await broker.deleteSubscription("work");
    await rejectsWith(broker.redrive("work", 0, {}), "SUBSCRIPTION_NOT_FOUND");
    assert.equal(await backlog("jobs-dlq"), 3, "the dead letters stay where they are");
  });
});
