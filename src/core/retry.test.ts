/** Retry scheduling with a fake clock: nacks without a delay and expired leases wait the backoff. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import type { SubscriptionSettings } from "./index.js";

const never = new AbortController().signal;

async function setup(t: TestContext, sub: Partial<SubscriptionSettings>) {
  const { clock, broker } = startTestBroker(t);
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 1000, ...sub } });
  await broker.publish("q", [{ id: "m1", data: Buffer.from("m1") }]);
  const pull = () =>
    broker.pull({ subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false }, never);
  const stats = async () => {
    const s = (await broker.getStats(["q"])).subscriptions[0];
    assert.ok(s);
    return s;
  };
  return { clock, broker, pull, stats };
}

describe("retry scheduling", () => {
  it("retry - without a policy a nack redelivers at once (as Pub/Sub)", async (t) => {
    const { broker, pull } = await setup(t, {});
    const [d] = await pull();
    assert.ok(d);
    await broker.nack("q", { ackIds: [d.ackId], messageIds: [] }, 0);
    const again = await pull();
    assert.deepEqual(
      again.map((x) => [x.message.id, x.deliveryAttempt]),
      [["m1", 2]],
    );
  });

  it("retry - a nack without delay waits min, then a growing backoff within its step", async (t) => {
    const { clock, broker, pull, stats } = await setup(t, { retry: { minBackoffMs: 1000, maxBackoffMs: 8000 } });
    const [first] = await pull();
    assert.ok(first);
    await broker.nack("q", { ackIds: [first.ackId], messageIds: [] }, 0);
    assert.deepEqual(await pull(), [], "not before the backoff");
    assert.equal((await stats()).delayed, 1, "waiting out the backoff counts as delayed");
    clock.advance(999);
    assert.deepEqual(await pull(), []);
    clock.advance(1);
    const [second] = await pull();
    assert.equal(second?.deliveryAttempt, 2, "the first retry waits exactly min");
    await broker.nack("q", { ackIds: [second.ackId], messageIds: [] }, 0);
    // Attempt 2: the step is 2000 ms, jitter takes at most half off, never below min.
    clock.advance(999);
    assert.deepEqual(await pull(), []);
    clock.advance(1001);
    const [third] = await pull();
    assert.equal(third?.deliveryAttempt, 3);
  });

  it("retry - the backoff is capped at max_backoff_ms", async (t) => {
    const { clock, broker, pull } = await setup(t, { retry: { minBackoffMs: 100, maxBackoffMs: 300 } });
    for (let attempt = 1; attempt <= 8; attempt++) {
      const [d] = await pull();
      assert.equal(d?.deliveryAttempt, attempt);
      await broker.nack("q", { ackIds: [d.ackId], messageIds: [] }, 0);
      clock.advance(300); // never more than max
    }
  });

  it("retry - an explicit nack delay wins over the policy", async (t) => {
    const { clock, broker, pull } = await setup(t, { retry: { minBackoffMs: 60_000, maxBackoffMs: 60_000 } });
    const [d] = await pull();
    assert.ok(d);
    await broker.nack("q", { ackIds: [d.ackId], messageIds: [] }, 500);
    clock.advance(499);
    assert.deepEqual(await pull(), []);
    clock.advance(1);
    assert.equal((await pull())[0]?.deliveryAttempt, 2);
  });

  it("retry - an expired lease waits the backoff from its deadline", async (t) => {
    const { clock, pull, stats } = await setup(t, { retry: { minBackoffMs: 5000, maxBackoffMs: 60_000 } });
    assert.equal((await pull()).length, 1);
    clock.advance(1000); // the lease (1000 ms) ends now
    assert.deepEqual(await pull(), []);
    assert.equal((await stats()).delayed, 1);
    assert.equal((await stats()).inFlight, 0);
    clock.advance(4999);
    assert.deepEqual(await pull(), []);
    clock.advance(1);
    const [d] = await pull();
    assert.equal(d?.deliveryAttempt, 2);
  });

  it("retry - an expired lease found late is available at once when its backoff has passed", async (t) => {
    const { clock, pull } = await setup(t, { retry: { minBackoffMs: 5000, maxBackoffMs: 60_000 } });
    assert.equal((await pull()).length, 1);
    clock.advance(10_000);
    assert.equal((await pull())[0]?.deliveryAttempt, 2);
  });

  it("retry - a stream giving back what it held is no failure: at once, no backoff", async (t) => {
    const { clock, broker, pull } = await setup(t, { retry: { minBackoffMs: 60_000, maxBackoffMs: 60_000 } });
    const stop = new AbortController();
    const stream = broker.subscribe(
      { subscription: "q", maxOutstandingMessages: 10, maxOutstandingBytes: 0 },
      stop.signal,
    );
    const it = stream[Symbol.asyncIterator]();
    const batch = await it.next();
    assert.equal(batch.value?.length, 1);
    stop.abort();
    await assert.rejects(it.next());
    clock.advance(0);
    assert.equal((await pull())[0]?.deliveryAttempt, 2);
  });
});
