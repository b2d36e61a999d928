/** Core: ordered subscriptions, attribute filters and ephemeral subscriptions (memory store, fake clock). */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { rejectsWith, settle } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import type { BrokerError } from "../errors/index.js";
import type { PullRequest } from "./index.js";

async function setup(t: TestContext) {
  const { store, clock, broker } = startTestBroker(t, { limits: { idleSweepIntervalMs: 1000 } });
  await broker.createTopic({ name: "t" });
  return { store, clock, broker };
}

const pull = (subscription: string, overrides: Partial<PullRequest> = {}): PullRequest => ({
  subscription,
  maxMessages: 10,
  waitMs: 0,
  ackDeadlineMs: 0,
  autoAck: false,
  ...overrides,
});
const never = new AbortController().signal;
const msg = (s: string, extra: object = {}) => ({ data: Buffer.from(s), ...extra });
const texts = (ds: { message: { data: Uint8Array } }[]) => ds.map((d) => Buffer.from(d.message.data).toString());

describe("core delivery features", () => {
  it("ordered - an ack wakes a pull waiting behind the key's message in flight", async (t) => {
    const { broker } = await setup(t);
    await broker.createSubscription({ name: "s", topic: "t", ordered: true, start: { kind: "earliest" } });
    await broker.publish("t", [msg("a1", { orderingKey: "A" }), msg("a2", { orderingKey: "A" })]);
    const [first] = await broker.pull(pull("s"), never);
    assert.equal(Buffer.from(first?.message.data ?? []).toString(), "a1");
    let woken: string[] | undefined;
    const waiting = broker.pull(pull("s", { waitMs: 30_000 }), never).then((d) => {
      woken = texts(d);
    });
    await settle();
    assert.equal(woken, undefined, "a2 is held while a1 is in flight");
    await broker.ack("s", { ackIds: [first?.ackId as string], messageIds: [] });
    await waiting;
    assert.deepEqual(woken, ["a2"]);
  });

  it("ordered and filter cannot change after creation; other settings can", async (t) => {
    const { broker } = await setup(t);
    await broker.createSubscription({ name: "s", topic: "t", ordered: true, filter: { k: "v" } });
    await rejectsWith(broker.updateSubscription("s", { ordered: false }), "INVALID_ARGUMENT", { field: "ordered" });
    await rejectsWith(broker.updateSubscription("s", { filter: { k: "w" } }), "INVALID_ARGUMENT", { field: "filter" });
    await rejectsWith(broker.updateSubscription("s", { filter: {} }), "INVALID_ARGUMENT", { field: "filter" });
    const same = await broker.updateSubscription("s", { filter: { k: "v" }, ordered: true, ackDeadlineMs: 5000 });
    assert.equal(same.ackDeadlineMs, 5000);
    assert.deepEqual(same.filter, { k: "v" });
  });

  it("filter - bounded: too many entries, empty or long keys, long values are INVALID_ARGUMENT", async (t) => {
    const { broker } = await setup(t);
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]));
    for (const filter of [many, { "": "v" }, { ["k".repeat(257)]: "v" }, { k: "v".repeat(1025) }]) {
      await rejectsWith(broker.createSubscription({ name: "s", topic: "t", filter }), "INVALID_ARGUMENT", {
        field: "filter",
      });
    }
    assert.deepEqual((await broker.listSubscriptions("t", 0, "")).items, []);
  });

  it("filter - fan-out at publish: each subscription sees only what its filter passes", async (t) => {
    const { broker } = await setup(t);
    await broker.createSubscription({ name: "eu", topic: "t", filter: { region: "eu" } });
    await broker.createSubscription({ name: "all", topic: "t" });
    await broker.publish("t", [msg("1", { attributes: { region: "eu" } }), msg("2", { attributes: { region: "us" } })]);
    assert.deepEqual(texts(await broker.pull(pull("eu"), never)), ["1"]);
    assert.deepEqual(texts(await broker.pull(pull("all"), never)), ["1", "2"]);
    const stats = await broker.getStats(["t"]);
    assert.deepEqual(
      stats.subscriptions.map((s) => [s.name, s.backlog]),
      [
        ["all", 2],
        ["eu", 1],
      ],
    );
  });

  it("ephemeral - an idle subscription deletes itself after expire_after_idle_ms; use resets the clock", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.createSubscription({ name: "tmp", topic: "t", expireAfterIdleMs: 5000 });
    await broker.createSubscription({ name: "keep", topic: "t" });
    await settle();
    clock.advance(4000);
    await settle();
    await broker.peek("tmp", 1); // a use at +4 s
    clock.advance(4000);
    await settle();
    assert.equal((await broker.getSubscription("tmp")).name, "tmp", "used 4 s ago: kept");
    clock.advance(2000);
    await settle();
    await rejectsWith(broker.getSubscription("tmp"), "SUBSCRIPTION_NOT_FOUND");
    assert.equal((await broker.getSubscription("keep")).name, "keep", "non-ephemeral subscriptions stay");
  });

  it("ephemeral - a waiting consumer keeps it alive however long it waits; the clock starts when it leaves", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.createSubscription({ name: "tmp", topic: "t", expireAfterIdleMs: 2000 });
    await settle();
    const ac = new AbortController();
    const waiting = broker.pull(pull("tmp", { waitMs: 60_000 }), ac.signal).catch((e: unknown) => e);
    await settle();
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      await settle();
    }
    assert.equal((await broker.getSubscription("tmp")).name, "tmp");
    ac.abort();
    assert.equal(((await waiting) as BrokerError).reason, "CANCELED");
    clock.advance(1000);
    await settle();
    assert.equal((await broker.getSubscription("tmp")).name, "tmp", "1 s after the consumer left");
    clock.advance(2000);
    await settle();
    await rejectsWith(broker.getSubscription("tmp"), "SUBSCRIPTION_NOT_FOUND");
  });

  it("ephemeral - becoming ephemeral by update starts the idle clock then; no timer runs without any", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.createSubscription({ name: "s", topic: "t" });
    await settle();
    const baseline = clock.pendingTimers();
    clock.advance(60_000);
    await broker.updateSubscription("s", { expireAfterIdleMs: 3000 });
    assert.equal(clock.pendingTimers(), baseline + 1, "the sweep timer is armed");
    clock.advance(2000);
    await settle();
    assert.equal((await broker.getSubscription("s")).expireAfterIdleMs, 3000);
    clock.advance(2000);
    await settle();
    await rejectsWith(broker.getSubscription("s"), "SUBSCRIPTION_NOT_FOUND");
    await settle();
    assert.equal(clock.pendingTimers(), baseline, "nothing left to sweep: no timer");
  });
  it("ttl - expired messages leave the backlog by the sweep, with no consumer asking", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.createSubscription({ name: "s", topic: "t" });
    await broker.publish("t", [msg("short", { ttlMs: 1500 }), msg("long", { ttlMs: 60_000 }), msg("forever")]);
    const backlog = async () => (await broker.getStats(["t"])).subscriptions[0]?.backlog;
    assert.equal(await backlog(), 3);
    clock.advance(1000);
    await settle();
    assert.equal(await backlog(), 3, "not expired yet");
    clock.advance(1000);
    await settle();
    assert.equal(await backlog(), 2);
    assert.equal((await broker.getStats(["t"])).topics[0]?.messages, 2);
    assert.deepEqual(texts(await broker.peek("s", 10)), ["long", "forever"]);
  });
  it("ttl - the sweep dropping an ordering key's head wakes a pull waiting for the key's next message", async (t) => {
    const { broker, clock } = await setup(t);
    await broker.createSubscription({ name: "s", topic: "t", ordered: true });
    await broker.publish("t", [msg("a1", { orderingKey: "A", ttlMs: 1500 }), msg("a2", { orderingKey: "A" })]);
    assert.deepEqual(texts(await broker.pull(pull("s"), never)), ["a1"]);
    let woken: string[] | undefined;
    const waiting = broker.pull(pull("s", { waitMs: 30_000 }), never).then((d) => {
      woken = texts(d);
    });
    await settle();
    clock.advance(1000);
    await settle();
    assert.equal(woken, undefined, "a1 is in flight and not expired");
    clock.advance(1000);
    await waiting;
    assert.deepEqual(woken, ["a2"]);
  });
});
