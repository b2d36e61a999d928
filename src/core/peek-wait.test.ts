/** Core peek as a long-poll (`waitMs`): wakes on publish, nack and lease expiry; never leases. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError } from "../errors/index.js";

async function setup(t: TestContext) {
  const { clock, broker } = startTestBroker(t);
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 1000 } });
  return { clock, broker };
}

const never = new AbortController().signal;
const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe("core peek with wait", () => {
  it("peek - answers at once when something is available, and leases nothing", async (t) => {
    const { broker } = await setup(t);
    await broker.publish("q", [{ id: "a", data: Buffer.from("x") }]);
    const got = await broker.peek("q", 1, 60_000, never);
    assert.deepEqual(
      got.map((d) => d.message.id),
      ["a"],
    );
    const pulled = await broker.pull(
      { subscription: "q", maxMessages: 1, waitMs: 0, ackDeadlineMs: 0, autoAck: false },
      never,
    );
    assert.equal(pulled.length, 1, "the peek leased nothing");
  });

  it("peek - a waiting peek wakes on a publish", async (t) => {
    const { broker } = await setup(t);
    let done = false;
    const waiting = broker.peek("q", 1, 30_000, never).finally(() => {
      done = true;
    });
    await ticks();
    assert.equal(done, false, "still waiting while the queue is empty");
    await broker.publish("q", [{ id: "b", data: Buffer.from("y") }]);
    assert.deepEqual(
      (await waiting).map((d) => d.message.id),
      ["b"],
    );
  });

  it("peek - a waiting peek wakes when a lease expires, at its deadline", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.publish("q", [{ id: "c", data: Buffer.from("z") }]);
    await broker.pull({ subscription: "q", maxMessages: 1, waitMs: 0, ackDeadlineMs: 0, autoAck: false }, never);
    let done = false;
    const waiting = broker.peek("q", 1, 30_000, never).finally(() => {
      done = true;
    });
    await ticks();
    clock.advance(999);
    await ticks();
    assert.equal(done, false, "the lease has not expired yet");
    clock.advance(1);
    const got = await waiting;
    assert.deepEqual(
      got.map((d) => [d.message.id, d.deliveryAttempt]),
      [["c", 2]],
    );
  });

  it("peek - times out empty after waitMs, and an abort ends it with CANCELED", async (t) => {
    const { broker, clock } = await setup(t);
    const waiting = broker.peek("q", 1, 5_000, never);
    await ticks();
    clock.advance(5_000);
    assert.deepEqual(await waiting, []);
    const abort = new AbortController();
    const aborted = broker.peek("q", 1, 5_000, abort.signal);
    await ticks();
    abort.abort();
    await assert.rejects(aborted, (e) => e instanceof BrokerError && e.reason === "CANCELED");
  });
});
