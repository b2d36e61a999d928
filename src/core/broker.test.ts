/** Core delivery on the memory store and a fake clock: long-poll, leases, nack, deadlines, pause, cancel. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { tick } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError, type Reason } from "../errors/index.js";
import type { BrokerLimits, Delivery, PullRequest } from "./index.js";

async function setup(t: TestContext, limits: Partial<BrokerLimits> = {}) {
  const { store, clock, broker } = startTestBroker(t, { limits });
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 1000 } });
  return { store, clock, broker, t0: clock.now() };
}

/** Lets the core run (store writes resolve on setImmediate) until `done()`, or fails. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (done()) return;
    await tick();
  }
  assert.fail(`still waiting for ${what}`);
}

/** A promise whose state the test can look at without awaiting it. */
function track<T>(promise: Promise<T>) {
  const s: { settled: boolean; value?: T; error?: unknown; promise: Promise<T> } = { settled: false, promise };
  promise.then(
    (value) => Object.assign(s, { settled: true, value }),
    (error: unknown) => Object.assign(s, { settled: true, error }),
  );
  return s;
}

function req(overrides: Partial<PullRequest> = {}): PullRequest {
  return { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false, ...overrides };
}

const never = new AbortController().signal;
const text = (d: Delivery) => Buffer.from(d.message.data).toString();
const data = (s: string) => ({ data: Buffer.from(s) });

function isReason(reason: Reason) {
  return (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.reason, reason, e.message);
    return true;
  };
}

describe("core delivery", () => {
  it("pull - a waiting pull is woken by a publish at once", async (t) => {
    const { clock, broker, t0 } = await setup(t);
    const pull = track(broker.pull(req({ waitMs: 30_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    assert.equal(pull.settled, false);
    await broker.publish("q", [data("hello")]);
    await until(() => pull.settled, "the pull to return");
    assert.equal(clock.now(), t0, "no time passed");
    const got = pull.value ?? [];
    assert.deepEqual(got.map(text), ["hello"]);
    assert.equal(got[0]?.deliveryAttempt, 1);
    assert.notEqual(got[0]?.ackId, "");
    assert.equal(clock.pendingTimers(), 0, "the wait timer is cleared");
  });

  it("pull - competing waiting pulls: one gets the message, the other waits on to its deadline", async (t) => {
    const { clock, broker } = await setup(t);
    const first = track(broker.pull(req({ waitMs: 10_000 }), never));
    const second = track(broker.pull(req({ waitMs: 20_000 }), never));
    await until(() => clock.pendingTimers() === 2, "both pulls to wait");
    await broker.publish("q", [data("only")]);
    await until(() => first.settled || second.settled, "a pull to return");
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(Number(first.settled) + Number(second.settled), 1, "exactly one pull returned");
    const [winner, loser] = first.settled ? [first, second] : [second, first];
    assert.deepEqual(winner.value?.map(text), ["only"]);
    assert.equal(clock.pendingTimers(), 1, "the other waits again");
    await broker.ack("q", { ackIds: [winner.value?.[0]?.ackId ?? ""], messageIds: [] });
    clock.advance(20_000);
    await until(() => loser.settled, "the other pull to time out");
    assert.deepEqual(loser.value, []);
  });

  it("pull - a pull with wait_ms returns empty once the clock passes its deadline", async (t) => {
    const { clock, broker } = await setup(t);
    const pull = track(broker.pull(req({ waitMs: 5000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    clock.advance(4999);
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(pull.settled, false, "still waiting before the deadline");
    clock.advance(1);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(pull.value, []);
  });

  it("pull - the wait is capped by limits.maxWaitMs", async (t) => {
    const { clock, broker } = await setup(t, { maxWaitMs: 1000 });
    const pull = track(broker.pull(req({ waitMs: 60_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    clock.advance(1000);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(pull.value, []);
  });

  it("pull - an expired lease is delivered again with delivery_attempt 2", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.publish("q", [data("a")]);
    const [first] = await broker.pull(req(), never);
    assert.equal(first?.deliveryAttempt, 1);
    assert.deepEqual(await broker.pull(req(), never), []);
    clock.advance(999);
    assert.deepEqual(await broker.pull(req(), never), [], "not before the ack deadline");
    clock.advance(1);
    const [again] = await broker.pull(req(), never);
    assert.equal(again?.deliveryAttempt, 2);
    assert.equal(again?.message.seq, first?.message.seq);
    assert.notEqual(again?.ackId, first?.ackId);
  });

  it("pull - a waiting pull is woken by a lease expiring", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.publish("q", [data("a")]);
    await broker.pull(req(), never);
    const pull = track(broker.pull(req({ waitMs: 10_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    clock.advance(1000);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(
      pull.value?.map((d) => [text(d), d.deliveryAttempt]),
      [["a", 2]],
    );
  });

  it("pull - the pull's ack_deadline_ms overrides the subscription's", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.publish("q", [data("a")]);
    await broker.pull(req({ ackDeadlineMs: 5000 }), never);
    clock.advance(4999);
    assert.deepEqual(await broker.pull(req(), never), []);
    clock.advance(1);
    assert.equal((await broker.pull(req(), never))[0]?.deliveryAttempt, 2);
  });

  it("pull - a delayed message wakes a waiting pull when it is due", async (t) => {
    const { clock, broker } = await setup(t);
    const pull = track(broker.pull(req({ waitMs: 10_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    await broker.publish("q", [{ ...data("later"), delayMs: 2000 }]);
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(pull.settled, false, "not deliverable yet");
    clock.advance(2000);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(pull.value?.map(text), ["later"]);
  });

  it("nack - with a delay the message comes back after it, attempt 2", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.publish("q", [data("a")]);
    const [d] = await broker.pull(req({ ackDeadlineMs: 60_000 }), never);
    await broker.nack("q", { ackIds: [d?.ackId ?? ""], messageIds: [] }, 500);
    assert.deepEqual(await broker.pull(req(), never), []);
    const pull = track(broker.pull(req({ waitMs: 10_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    clock.advance(500);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(
      pull.value?.map((x) => x.deliveryAttempt),
      [2],
    );
  });

  it("nack - without a delay the message is available at once", async (t) => {
    const { broker } = await setup(t);
    await broker.publish("q", [data("a")]);
    const [d] = await broker.pull(req(), never);
    await broker.nack("q", { ackIds: [d?.ackId ?? ""], messageIds: [] }, 0);
    assert.deepEqual(
      (await broker.pull(req(), never)).map((x) => x.deliveryAttempt),
      [2],
    );
  });

  it("modifyAckDeadline - extends a lease, and 0 releases it", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.publish("q", [data("a"), data("b")]);
    const [a, b] = await broker.pull(req(), never);
    await broker.modifyAckDeadline("q", [a?.ackId ?? ""], 5000);
    await broker.modifyAckDeadline("q", [b?.ackId ?? ""], 0);
    assert.deepEqual((await broker.pull(req({ ackDeadlineMs: 60_000 }), never)).map(text), ["b"], "0 released b");
    clock.advance(2000);
    assert.deepEqual(await broker.pull(req(), never), [], "a's lease was extended");
    clock.advance(3000);
    assert.deepEqual(
      (await broker.pull(req(), never)).map((x) => [text(x), x.deliveryAttempt]),
      [["a", 2]],
    );
  });

  it("pause - a paused subscription delivers nothing; resume wakes a waiting pull", async (t) => {
    const { clock, broker } = await setup(t);
    assert.equal((await broker.setPaused("q", true)).paused, true);
    await broker.publish("q", [data("a")]);
    assert.deepEqual(await broker.pull(req(), never), []);
    const pull = track(broker.pull(req({ waitMs: 10_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    await broker.publish("q", [data("b")]);
    for (let i = 0; i < 10; i++) await tick();
    assert.equal(pull.settled, false, "a publish does not deliver while paused");
    await broker.setPaused("q", false);
    await until(() => pull.settled, "the pull to return");
    assert.deepEqual(pull.value?.map(text), ["a", "b"]);
  });

  it("cancel - aborting the signal ends a waiting pull with CANCELED", async (t) => {
    const { clock, broker } = await setup(t);
    const controller = new AbortController();
    const pull = track(broker.pull(req({ waitMs: 30_000 }), controller.signal));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    controller.abort();
    await assert.rejects(pull.promise, isReason("CANCELED"));
    assert.equal(clock.pendingTimers(), 0);
    await assert.rejects(broker.pull(req({ waitMs: 30_000 }), controller.signal), isReason("CANCELED"));
    await broker.publish("q", [data("a")]);
    assert.deepEqual((await broker.pull(req(), never)).map(text), ["a"], "nothing was lost to the canceled pulls");
  });

  it("close - broker.close() ends a waiting pull with SHUTTING_DOWN and refuses new calls", async (t) => {
    const { clock, broker } = await setup(t);
    const pull = track(broker.pull(req({ waitMs: 30_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    await broker.close();
    await assert.rejects(pull.promise, isReason("SHUTTING_DOWN"));
    assert.equal(clock.pendingTimers(), 0, "no timer outlives the broker");
    await assert.rejects(broker.publish("q", [data("a")]), isReason("SHUTTING_DOWN"));
    await assert.rejects(broker.pull(req(), never), isReason("SHUTTING_DOWN"));
  });

  it("delete - deleting the subscription ends a waiting pull with SUBSCRIPTION_NOT_FOUND", async (t) => {
    const { clock, broker } = await setup(t);
    const pull = track(broker.pull(req({ waitMs: 30_000 }), never));
    await until(() => clock.pendingTimers() === 1, "the pull to wait");
    await broker.deleteSubscription("q");
    await assert.rejects(pull.promise, isReason("SUBSCRIPTION_NOT_FOUND"));
  });
});
