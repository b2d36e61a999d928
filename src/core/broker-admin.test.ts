/** Core admin: pagination with page tokens, stats from the store and the fake clock, queue creation. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { tick } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError, type Reason } from "../errors/index.js";
import type { PullRequest } from "./index.js";

async function setup(t: TestContext) {
  const { store, clock, broker } = startTestBroker(t);
  return { store, clock, broker };
}

const pullReq = (subscription: string, overrides: Partial<PullRequest> = {}): PullRequest => ({
  subscription,
  maxMessages: 10,
  waitMs: 0,
  ackDeadlineMs: 0,
  autoAck: false,
  ...overrides,
});
const never = new AbortController().signal;

function isReason(reason: Reason) {
  return (e: unknown) => e instanceof BrokerError && e.reason === reason;
}

describe("core admin", () => {
  it("listTopics - pages in name order, page tokens resume, the last page has no token", async (t) => {
    const { broker } = await setup(t);
    for (const name of ["t3", "t1", "t5", "t2", "t4"]) await broker.createTopic({ name });
    const pages: string[][] = [];
    let token = "";
    do {
      const page = await broker.listTopics(2, token);
      pages.push(page.items.map((x) => x.name));
      token = page.nextPageToken;
    } while (token !== "" && pages.length < 10);
    assert.deepEqual(pages, [["t1", "t2"], ["t3", "t4"], ["t5"]]);
    const exact = await broker.listTopics(5, "");
    assert.equal(exact.items.length, 5);
    assert.equal(exact.nextPageToken, "", "no token when nothing follows");
    assert.equal((await broker.listTopics(0, "")).items.length, 5, "0: the default page size");
    await assert.rejects(broker.listTopics(2, "!!not a token"), isReason("INVALID_ARGUMENT"));
    await assert.rejects(broker.listTopics(1001, ""), isReason("INVALID_ARGUMENT"));
  });

  it("listSubscriptions - pages within one topic or across all", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "a" });
    await broker.createTopic({ name: "b" });
    for (const [name, topic] of [
      ["s1", "a"],
      ["s2", "b"],
      ["s3", "a"],
      ["s4", "a"],
    ]) {
      await broker.createSubscription({ name: name as string, topic: topic as string });
    }
    const first = await broker.listSubscriptions("a", 2, "");
    assert.deepEqual(
      first.items.map((s) => s.name),
      ["s1", "s3"],
    );
    const second = await broker.listSubscriptions("a", 2, first.nextPageToken);
    assert.deepEqual(
      second.items.map((s) => s.name),
      ["s4"],
    );
    assert.equal(second.nextPageToken, "");
    assert.deepEqual(
      (await broker.listSubscriptions("", 10, "")).items.map((s) => s.name),
      ["s1", "s2", "s3", "s4"],
    );
  });

  it("createTopic - queue: true creates the same-name subscription with its settings", async (t) => {
    const { broker } = await setup(t);
    const { topic, subscription } = await broker.createTopic({
      name: "jobs",
      queue: true,
      queueSubscription: { ackDeadlineMs: 1234, name: "ignored", topic: "ignored" },
    });
    assert.equal(topic.queue, true);
    assert.equal(subscription?.name, "jobs");
    assert.equal(subscription?.topic, "jobs");
    assert.equal(subscription?.ackDeadlineMs, 1234);
    assert.deepEqual(await broker.getSubscription("jobs"), subscription);
    assert.equal((await broker.createTopic({ name: "plain" })).subscription, undefined);
  });

  it("getStats - backlog, in flight, delayed, consumers and the oldest unacked age", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.createSubscription({ name: "audit", topic: "q" });
    await broker.publish("q", [
      { id: "a", data: Buffer.alloc(10) },
      { id: "b", data: Buffer.alloc(20) },
    ]);
    clock.advance(3000);
    await broker.publish("q", [{ id: "c", data: Buffer.alloc(5), delayMs: 60_000 }]);
    clock.advance(2000);
    await broker.pull(pullReq("q", { maxMessages: 1 }), never);
    await broker.ack("audit", { ackIds: [], messageIds: ["a"] });
    await broker.setPaused("audit", true);

    const stats = await broker.getStats([]);
    assert.deepEqual(stats.topics, [{ name: "q", messages: 3, bytes: 35, lastSeq: 3, subscriptions: 2 }]);
    const byName = new Map(stats.subscriptions.map((s) => [s.name, s]));
    assert.deepEqual(byName.get("q"), {
      name: "q",
      topic: "q",
      backlog: 3,
      inFlight: 1,
      delayed: 1,
      consumers: 0,
      oldestUnackedAgeMs: 5000,
      paused: false,
      deadLettered: 0,
    });
    assert.deepEqual(byName.get("audit"), {
      name: "audit",
      topic: "q",
      backlog: 2,
      inFlight: 0,
      delayed: 1,
      consumers: 0,
      oldestUnackedAgeMs: 5000,
      paused: true,
      deadLettered: 0,
    });

    // A waiting pull (audit is paused, so it waits) counts as a consumer until it ends.
    const controller = new AbortController();
    const parked = broker.pull(pullReq("audit", { waitMs: 60_000 }), controller.signal).catch((e: unknown) => e);
    for (let i = 0; i < 20 && clock.pendingTimers() === 0; i++) await tick();
    assert.equal(clock.pendingTimers(), 1, "the pull waits");
    const consumers = async () =>
      (await broker.getStats(["q"])).subscriptions.find((s) => s.name === "audit")?.consumers;
    assert.equal(await consumers(), 1);
    controller.abort();
    assert.ok(isReason("CANCELED")(await parked));
    assert.equal(await consumers(), 0);
    await assert.rejects(broker.getStats(["nope"]), isReason("TOPIC_NOT_FOUND"));
  });

  it("getStats - the oldest unacked age follows acks, and is 0 when all are acked", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [{ id: "old", data: Buffer.from("a") }]);
    clock.advance(1000);
    await broker.publish("q", [{ id: "new", data: Buffer.from("b") }]);
    clock.advance(500);
    const age = async () => (await broker.getStats(["q"])).subscriptions[0]?.oldestUnackedAgeMs;
    assert.equal(await age(), 1500);
    await broker.ack("q", { ackIds: [], messageIds: ["old"] });
    assert.equal(await age(), 500);
    await broker.ack("q", { ackIds: [], messageIds: ["new"] });
    assert.equal(await age(), 0);
  });

  it("publish - a duplicate id inside the dedup window returns the first seq", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, dedupWindowMs: 10_000 });
    const [first] = await broker.publish("q", [{ id: "x", data: Buffer.from("1") }]);
    clock.advance(9999);
    assert.deepEqual(await broker.publish("q", [{ id: "x", data: Buffer.from("2") }]), [
      { seq: first?.seq, id: "x", duplicate: true },
    ]);
    clock.advance(1);
    assert.deepEqual(await broker.publish("q", [{ id: "x", data: Buffer.from("3") }]), [
      { seq: 2, id: "x", duplicate: false },
    ]);
    const generated = await broker.publish("q", [{ data: Buffer.alloc(0) }, { data: Buffer.alloc(0) }]);
    assert.ok(generated.every((r) => r.id !== "" && !r.duplicate));
    assert.notEqual(generated[0]?.id, generated[1]?.id, "generated ids are unique");
  });

  it("publish - a message past its TTL is not delivered and leaves the backlog", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [{ data: Buffer.from("short"), ttlMs: 1000 }, { data: Buffer.from("long") }]);
    clock.advance(1000);
    const got = await broker.pull(pullReq("q"), never);
    assert.deepEqual(
      got.map((d) => Buffer.from(d.message.data).toString()),
      ["long"],
    );
    assert.equal((await broker.getStats(["q"])).subscriptions[0]?.backlog, 1);
  });

  it("pull - auto_ack hands a message out once; peek shows without leasing", async (t) => {
    const { clock, broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [{ data: Buffer.from("a") }, { data: Buffer.from("b"), priority: 5 }]);
    const peeked = await broker.peek("q", 10);
    assert.deepEqual(
      peeked.map((d) => [Buffer.from(d.message.data).toString(), d.ackId]),
      [
        ["b", ""],
        ["a", ""],
      ],
    );
    const got = await broker.pull(pullReq("q", { autoAck: true, maxMessages: 1 }), never);
    assert.deepEqual(
      got.map((d) => [Buffer.from(d.message.data).toString(), d.ackId]),
      [["b", ""]],
    );
    clock.advance(120_000);
    assert.deepEqual(
      (await broker.pull(pullReq("q"), never)).map((d) => Buffer.from(d.message.data).toString()),
      ["a"],
    );
  });
});
