/** Push scheduling on the real core (memory store) with a fake clock and a scripted sender. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import {
  createFakeSender,
  type FakeSender,
  flush,
  pushConfig,
  setupCore,
  text,
  utf8,
} from "../../test/helpers/push-test-kit.js";
import type { Broker, PushSettings, SubscriptionInfo } from "../core/index.js";
import { silentLogger } from "../util/index.js";
import { createPushAgent } from "./agent.js";
import { PushWorker } from "./worker.js";

async function subStats(broker: Broker, name: string) {
  const stats = await broker.getStats([]);
  const s = stats.subscriptions.find((x) => x.name === name);
  assert.ok(s, `stats of ${name}`);
  return s;
}

async function agentOn(t: TestContext, push: Partial<PushSettings> = {}, random = () => 0) {
  const { broker, clock } = setupCore(t);
  const sender = createFakeSender();
  await broker.createTopic({ name: "t" });
  await broker.createSubscription({ name: "s", topic: "t", push: pushConfig(push) });
  const agent = createPushAgent({ broker, clock, sender, random, logger: silentLogger });
  await agent.start();
  t.after(() => agent.close(0));
  return { broker, clock, sender, agent };
}

const bodies = (sender: FakeSender) => sender.calls.map((c) => text(c.request.body));

describe("push worker scheduling", () => {
  it("max_in_flight - never more requests open than the limit; each answer lets the next one go", async (t) => {
    const { broker, sender } = await agentOn(t, { maxInFlight: 3 });
    await broker.publish(
      "t",
      Array.from({ length: 8 }, (_, i) => ({ data: utf8(`m${i}`) })),
    );
    await flush();
    assert.equal(sender.open().length, 3);
    assert.deepEqual(bodies(sender), ["m0", "m1", "m2"]);
    sender.open()[1]?.respond(200);
    await flush();
    assert.equal(sender.open().length, 3);
    assert.equal(sender.calls.length, 4);
    while (sender.open().length > 0) {
      for (const c of sender.open()) c.respond(204);
      await flush();
    }
    assert.equal(sender.calls.length, 8);
    assert.equal(sender.maxConcurrent(), 3);
    const s = await subStats(broker, "s");
    assert.equal(s.backlog, 0, "every 2xx was acked");
    assert.deepEqual(s.push, {
      lastStatus: 204,
      consecutiveFailures: 0,
      nextAttemptTimeMs: 0,
      lastAttemptTimeMs: s.push?.lastAttemptTimeMs,
      lastError: "",
    });
  });

  it("backoff - a failure sets the next attempt time; nothing goes out before it; success resets it", async (t) => {
    const { broker, clock, sender } = await agentOn(t, { maxInFlight: 2 });
    await broker.publish("t", [{ data: utf8("a") }, { data: utf8("b") }]);
    await flush();
    assert.equal(sender.open().length, 2);
    const t0 = clock.now();
    sender.calls[0]?.respond(500);
    await flush();
    // The default push backoff (no RetryPolicy): 100 ms first.
    let s = await subStats(broker, "s");
    assert.equal(s.push?.lastStatus, 500);
    assert.equal(s.push?.lastError, "HTTP 500");
    assert.equal(s.push?.consecutiveFailures, 1);
    assert.equal(s.push?.nextAttemptTimeMs, t0 + 100);
    assert.equal(sender.calls.length, 2, "the nacked message is available again, but the gate holds it");
    clock.advance(99);
    await flush();
    assert.equal(sender.calls.length, 2);
    sender.calls[1]?.fail("ECONNRESET");
    await flush();
    s = await subStats(broker, "s");
    assert.equal(s.push?.lastStatus, 0, "0: no HTTP response");
    assert.equal(s.push?.lastError, "ECONNRESET");
    assert.equal(s.push?.consecutiveFailures, 2);
    assert.equal(s.push?.nextAttemptTimeMs, t0 + 99 + 200, "2nd failure: 200 ms (random() = 0: no jitter)");
    clock.advance(199);
    await flush();
    assert.equal(sender.calls.length, 2);
    clock.advance(1);
    await flush();
    assert.equal(sender.calls.length, 4, "both go out again after the gate");
    assert.deepEqual(
      sender.calls.slice(2).map((c) => [text(c.request.body), c.request.headers["Switchyard-Delivery-Attempt"]]),
      [
        ["a", "2"],
        ["b", "2"],
      ],
    );
    for (const c of sender.open()) c.respond(200);
    await flush();
    s = await subStats(broker, "s");
    assert.equal(s.push?.consecutiveFailures, 0);
    assert.equal(s.push?.nextAttemptTimeMs, 0);
    assert.equal(s.backlog, 0);
  });

  it("backoff - uses the subscription's RetryPolicy, doubling up to its maximum", async (t) => {
    const { broker, clock } = setupCore(t);
    const sender = createFakeSender();
    await broker.createTopic({ name: "t" });
    const sub = await broker.createSubscription({ name: "s", topic: "t" });
    // The worker reads the policy from its settings; the core may not accept RetryPolicy yet.
    const worker = new PushWorker(
      {
        broker,
        clock,
        sender,
        logger: silentLogger,
        limits: { maxAckDeadlineMs: 600_000, maxWaitMs: 60_000, pushAllowedHosts: [] },
        random: () => 0,
      },
      { ...sub, retry: { minBackoffMs: 1_000, maxBackoffMs: 3_000 }, push: pushConfig() },
    );
    t.after(() => worker.stop(0));
    await broker.publish("t", [{ data: utf8("x") }]);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      await flush();
      assert.equal(sender.open().length, 1, `attempt ${i + 1} is out`);
      sender.open()[0]?.respond(503);
      await flush();
      const next = worker.stats().nextAttemptTimeMs;
      waits.push(next - clock.now());
      clock.advance(next - clock.now());
    }
    assert.deepEqual(waits, [1_000, 2_000, 3_000, 3_000]);
  });

  it("any_response_is_success - a 500 is delivered (the OPQ rule); a network error is not", async (t) => {
    const { broker, sender } = await agentOn(t, { anyResponseIsSuccess: true });
    await broker.publish("t", [{ data: utf8("a") }, { data: utf8("b") }]);
    await flush();
    sender.open()[0]?.respond(500);
    await flush();
    assert.equal((await subStats(broker, "s")).backlog, 1);
    sender.open()[0]?.fail("ECONNREFUSED");
    await flush();
    const s = await subStats(broker, "s");
    assert.equal(s.backlog, 1);
    assert.equal(s.push?.consecutiveFailures, 1);
  });

  it("ordered - one request per ordering key; the next of a key waits for an ack; a failure sends the key back in order", async (t) => {
    const { broker, clock } = setupCore(t);
    const sender = createFakeSender();
    await broker.createTopic({ name: "t" });
    const sub: SubscriptionInfo = await broker.createSubscription({ name: "s", topic: "t" });
    // The worker's own per-key guard, whatever the store does for ordered subscriptions.
    const worker = new PushWorker(
      {
        broker,
        clock,
        sender,
        logger: silentLogger,
        limits: { maxAckDeadlineMs: 600_000, maxWaitMs: 60_000, pushAllowedHosts: [] },
        random: () => 0,
      },
      { ...sub, ordered: true, push: pushConfig({ maxInFlight: 4 }) },
    );
    t.after(() => worker.stop(0));
    await broker.publish("t", [
      { data: utf8("a1"), orderingKey: "a" },
      { data: utf8("a2"), orderingKey: "a" },
      { data: utf8("n1") },
      { data: utf8("b1"), orderingKey: "b" },
      { data: utf8("a3"), orderingKey: "a" },
    ]);
    await flush();
    assert.deepEqual(bodies(sender), ["a1", "n1", "b1"], "one per key; a message without a key waits for none");
    sender.calls[0]?.respond(200);
    await flush();
    assert.deepEqual(bodies(sender).slice(3), ["a2"]);
    sender.calls[3]?.respond(500);
    await flush();
    assert.equal(sender.open().length, 2, "a3 went back with a2 instead of overtaking it");
    clock.advance(100);
    await flush();
    const again = bodies(sender).slice(4);
    assert.equal(again[0], "a2", `a2 before a3: ${again}`);
    for (;;) {
      const open = sender.open();
      if (open.length === 0) break;
      for (const c of open) c.respond(200);
      await flush();
    }
    const delivered = bodies(sender).filter((b) => b.startsWith("a"));
    assert.deepEqual(delivered.slice(-2), ["a2", "a3"]);
    assert.equal((await subStats(broker, "s")).backlog, 0);
  });

  it("stop - requests still open after the grace are aborted and their messages available again at once", async (t) => {
    const { broker, clock, sender, agent } = await agentOn(t, { maxInFlight: 2 });
    await broker.publish("t", [{ data: utf8("a") }, { data: utf8("b") }, { data: utf8("c") }]);
    await flush();
    assert.equal(sender.open().length, 2);
    sender.calls[0]?.respond(200);
    await flush();
    const closing = agent.close(5_000);
    await flush();
    assert.equal(sender.open().length, 2, "open requests may still finish during the grace");
    sender.open()[0]?.respond(200);
    clock.advance(5_000);
    await closing;
    assert.equal(sender.open().length, 0);
    assert.ok(sender.calls[2]?.signal.aborted, "the last one was aborted");
    const s = await subStats(broker, "s");
    assert.equal(s.backlog, 1);
    assert.equal(s.inFlight, 0, "its lease was given back, not left to expire");
    assert.equal(s.push, undefined, "no agent, no push stats");
  });
});

describe("push agent", () => {
  it("agent - follows creates, updates, deletes and topic deletes; ignores plain subscriptions", async (t) => {
    const { broker, clock } = setupCore(t);
    const sender = createFakeSender();
    await broker.createTopic({ name: "t" });
    await broker.createSubscription({ name: "plain", topic: "t" });
    await broker.createSubscription({
      name: "early",
      topic: "t",
      push: pushConfig({ endpoint: "http://h.test/early" }),
    });
    const agent = createPushAgent({ broker, clock, sender, logger: silentLogger });
    await agent.start();
    t.after(() => agent.close(0));
    assert.deepEqual(agent.subscriptions(), ["early"]);
    await broker.createSubscription({ name: "late", topic: "t", push: pushConfig({ endpoint: "http://h.test/late" }) });
    const q = await broker.createTopic({
      name: "q",
      queue: true,
      queueSubscription: { push: pushConfig({ endpoint: "http://h.test/q" }) },
    });
    assert.ok(q.subscription?.push);
    await flush();
    assert.deepEqual(agent.subscriptions().sort(), ["early", "late", "q"]);
    await broker.updateSubscription("late", { push: pushConfig({ endpoint: "http://h.test/late2" }) });
    await broker.publish("t", [{ data: utf8("x") }]);
    await flush();
    assert.deepEqual(sender.calls.map((c) => c.request.url).sort(), ["http://h.test/early", "http://h.test/late2"]);
    for (const c of sender.open()) c.respond(200);
    await broker.updateSubscription("early", { push: null });
    await broker.deleteSubscription("late");
    await flush();
    assert.deepEqual(agent.subscriptions(), ["q"]);
    await broker.deleteTopic("q");
    await flush();
    assert.deepEqual(agent.subscriptions(), []);
    const early = (await broker.getStats(["t"])).subscriptions.find((s) => s.name === "early");
    assert.equal(early?.push, undefined, "not a push subscription any more");
    assert.equal(early?.backlog, 0);
  });

  it("agent - a subscription deleted and created again at once is pushed with its new settings", async (t) => {
    const { broker, clock } = setupCore(t);
    const sender = createFakeSender();
    await broker.createTopic({ name: "t" });
    await broker.createSubscription({ name: "s", topic: "t", push: pushConfig({ endpoint: "http://h.test/1" }) });
    const agent = createPushAgent({ broker, clock, sender, logger: silentLogger });
    await agent.start();
    t.after(() => agent.close(0));
    await flush();
    await broker.deleteSubscription("s");
    await broker.createSubscription({ name: "s", topic: "t", push: pushConfig({ endpoint: "http://h.test/2" }) });
    await broker.publish("t", [{ data: utf8("x") }]);
    await flush();
    assert.deepEqual(
      sender.calls.map((c) => c.request.url),
      ["http://h.test/2"],
    );
    sender.calls[0]?.respond(200);
    await flush();
    assert.equal((await subStats(broker, "s")).backlog, 0);
    assert.deepEqual(agent.subscriptions(), ["s"]);
  });

  it("pause - a lease that comes back after the pause is given back at once, not held until resume", async (t) => {
    const { broker: core, clock } = setupCore(t);
    const sender = createFakeSender();
    await core.createTopic({ name: "t" });
    await core.createSubscription({ name: "s", topic: "t", push: pushConfig({ maxInFlight: 1 }) });
    // Holds back what the worker's lease returns until the test lets it go.
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const broker = new Proxy(core, {
      get(target, prop, receiver) {
        if (prop !== "pull") return Reflect.get(target, prop, receiver);
        return async (...args: Parameters<Broker["pull"]>) => {
          const got = await target.pull(...args);
          if (got.length > 0) await gate;
          return got;
        };
      },
    });
    const agent = createPushAgent({ broker, clock, sender, random: () => 0, logger: silentLogger });
    await agent.start();
    t.after(() => agent.close(0));
    await core.publish("t", [{ data: utf8("held") }]);
    await flush();
    assert.equal((await subStats(core, "s")).inFlight, 1, "leased, its answer held back");
    await core.setPaused("s", true);
    await flush();
    release();
    await flush();
    assert.equal(sender.calls.length, 0, "nothing is sent while paused");
    assert.equal((await subStats(core, "s")).inFlight, 0, "the late lease was given back");
  });
});
