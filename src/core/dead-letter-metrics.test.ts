/** The core reports each dead letter (or drop after max attempts) to its metrics sink when it happens. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { type BrokerMetricsSink, noBrokerMetrics } from "./index.js";

const never = new AbortController().signal;

/** A sink that records dead letters as "topic/subscription" → count. */
function recordingSink(): BrokerMetricsSink & { dead: Map<string, number> } {
  const dead = new Map<string, number>();
  return {
    ...noBrokerMetrics,
    dead,
    deadLettered(topic, subscription, messages) {
      const key = `${topic}/${subscription}`;
      dead.set(key, (dead.get(key) ?? 0) + messages);
    },
  };
}

async function setup(t: TestContext, deadLetterTopic = "jobs-dlq") {
  const metrics = recordingSink();
  const h = startTestBroker(t, { metrics });
  await h.broker.createTopic({ name: "jobs" });
  await h.broker.createTopic({ name: "jobs-dlq", queue: true });
  const create = (name: string) =>
    h.broker.createSubscription({ name, topic: "jobs", ackDeadlineMs: 1000, maxDeliveryAttempts: 1, deadLetterTopic });
  const pull = (subscription: string) =>
    h.broker.pull({ subscription, maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false }, never);
  const nackAll = async (subscription: string) => {
    const got = await pull(subscription);
    await h.broker.nack(subscription, { ackIds: got.map((d) => d.ackId), messageIds: [] }, 0);
    return got.length;
  };
  return { ...h, metrics, create, pull, nackAll };
}

describe("dead-letter metrics", () => {
  it("dead-letter metrics - a nack on the last attempt is counted when it happens, per topic and subscription", async (t) => {
    const h = await setup(t);
    await h.create("work");
    await h.broker.publish("jobs", [{ data: Buffer.from("a") }, { data: Buffer.from("b") }]);
    assert.equal(await h.nackAll("work"), 2);
    assert.deepEqual([...h.metrics.dead], [["jobs/work", 2]]);
  });

  it("dead-letter metrics - a subscription deleted and made again counts on from where the counter was", async (t) => {
    const h = await setup(t);
    await h.create("work");
    await h.broker.publish("jobs", [{ data: Buffer.from("a") }]);
    await h.nackAll("work");
    await h.broker.deleteSubscription("work");
    await h.create("work"); // the store's count for "work" starts at 0 again
    await h.broker.publish("jobs", [{ data: Buffer.from("b") }]);
    await h.nackAll("work");
    // A short-lived one: made, dead-letters, deleted, all between two scrapes.
    await h.create("brief");
    await h.broker.publish("jobs", [{ data: Buffer.from("c") }]);
    await h.nackAll("brief");
    await h.nackAll("work");
    await h.broker.deleteSubscription("brief");
    assert.deepEqual(
      [...h.metrics.dead],
      [
        ["jobs/work", 3],
        ["jobs/brief", 1],
      ],
    );
  });

  it("dead-letter metrics - an expired last-attempt lease counts when the sweep applies it; a drop counts too", async (t) => {
    const h = await setup(t, ""); // no dead-letter topic: dropped after max attempts
    await h.create("work");
    await h.broker.publish("jobs", [{ data: Buffer.from("a") }]);
    assert.equal((await h.pull("work")).length, 1);
    h.clock.advance(1100); // the lease has ended: the broker applies it with no pull
    for (let i = 0; i < 100 && !h.metrics.dead.has("jobs/work"); i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual([...h.metrics.dead], [["jobs/work", 1]]);
  });

  it("dead-letter metrics - a rejected delivery counts, with or without max delivery attempts", async (t) => {
    const h = await setup(t);
    await h.broker.createSubscription({ name: "plain", topic: "jobs", deadLetterTopic: "" });
    await h.broker.publish("jobs", [{ data: Buffer.from("a") }]);
    const [d] = await h.pull("plain");
    assert.ok(d);
    assert.equal(await h.broker.reject("plain", [d.ackId], "no target"), 1);
    assert.deepEqual([...h.metrics.dead], [["jobs/plain", 1]]);
  });

  it("dead-letter metrics - messages a stream gives back unprocessed are no failure and count nothing", async (t) => {
    const h = await setup(t);
    await h.create("work");
    await h.broker.publish("jobs", [{ data: Buffer.from("a") }]);
    const stop = new AbortController();
    const stream = h.broker
      .subscribe({ subscription: "work", maxOutstandingMessages: 10, maxOutstandingBytes: 0 }, stop.signal)
      [Symbol.asyncIterator]();
    assert.equal((await stream.next()).value?.length, 1);
    stop.abort();
    await stream.return?.(undefined);
    assert.equal((await h.pull("work")).length, 1, "back at once, not dead-lettered");
    assert.deepEqual([...h.metrics.dead], []);
  });
});
