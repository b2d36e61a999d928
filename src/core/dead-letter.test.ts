/** Dead letters with a fake clock and the memory store: max attempts, DLQ attributes, drops, Redrive. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { rejectsWith } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { DEAD_LETTER_ATTRIBUTES as A, type Store } from "../store/index.js";
import type { Logger } from "../util/index.js";
import type { SubscriptionSettings } from "./index.js";

const never = new AbortController().signal;

async function setup(t: TestContext, options: { store?: Store; logger?: Logger } = {}) {
  const { store, clock, broker } = startTestBroker(t, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.store ? { wrapStore: () => options.store as Store } : {}),
  });
  const pull = async (subscription: string, maxMessages = 10) =>
    broker.pull({ subscription, maxMessages, waitMs: 0, ackDeadlineMs: 0, autoAck: false }, never);
  const nackAll = async (subscription: string, error = "") => {
    const got = await pull(subscription, 1000);
    if (got.length > 0) await broker.nack(subscription, { ackIds: got.map((d) => d.ackId), messageIds: [] }, 0, error);
    return got;
  };
  const stats = async (name: string) => {
    const s = (await broker.getStats([])).subscriptions.find((x) => x.name === name);
    assert.ok(s, name);
    return s;
  };
  return { store, clock, broker, pull, nackAll, stats };
}

/** jobs (topic) → work (subscription, DLQ jobs-dlq) and audit (a second subscription); jobs-dlq is a queue. */
async function withDeadLetters(t: TestContext, sub: Partial<SubscriptionSettings> = {}, store?: Store) {
  const h = await setup(t, { store });
  await h.broker.createTopic({ name: "jobs" });
  await h.broker.createTopic({ name: "jobs-dlq", queue: true });
  await h.broker.createSubscription({
    name: "work",
    topic: "jobs",
    ackDeadlineMs: 1000,
    maxDeliveryAttempts: 2,
    deadLetterTopic: "jobs-dlq",
    ...sub,
  });
  await h.broker.createSubscription({ name: "audit", topic: "jobs" });
  return h;
}

describe("dead letters", () => {
  it("dead letter - after max attempts of nacks, with its origin and the last error", async (t) => {
    const { broker, pull, nackAll, stats } = await withDeadLetters(t);
    await broker.publish("jobs", [
      { id: "job-1", data: Buffer.from("payload"), attributes: { kind: "a" }, priority: 3 },
    ]);
    assert.equal((await nackAll("work", "first")).length, 1);
    assert.equal((await nackAll("work", "boom")).length, 1);
    assert.deepEqual(await pull("work"), [], "gone from the source subscription");
    const [dl] = await pull("jobs-dlq");
    assert.ok(dl);
    assert.equal(Buffer.from(dl.message.data).toString(), "payload");
    assert.equal(dl.message.priority, 3);
    assert.notEqual(dl.message.id, "job-1", "a fresh id on the dead-letter topic");
    assert.deepEqual(dl.message.attributes, {
      kind: "a",
      [A.sourceTopic]: "jobs",
      [A.sourceSubscription]: "work",
      [A.sourceSeq]: "1",
      [A.sourceId]: "job-1",
      [A.attempts]: "2",
      [A.reason]: "nacked",
      [A.lastError]: "boom",
    });
    const work = await stats("work");
    assert.equal(work.deadLettered, 1);
    assert.equal(work.backlog, 0);
    assert.equal((await stats("audit")).backlog, 1, "other subscriptions keep their copy");
    assert.equal((await stats("jobs-dlq")).deadLettered, 0);
  });

  it("dead letter - after max attempts of expired leases (reason lease_expired, no last error)", async (t) => {
    const { clock, broker, pull, stats } = await withDeadLetters(t);
    await broker.publish("jobs", [{ id: "m1", data: Buffer.from("m1") }]);
    assert.equal((await pull("work")).length, 1);
    clock.advance(1000);
    assert.equal((await pull("work"))[0]?.deliveryAttempt, 2);
    clock.advance(1000);
    assert.deepEqual(await pull("work"), []);
    const [dl] = await pull("jobs-dlq");
    assert.equal(dl?.message.attributes[A.reason], "lease_expired");
    assert.equal(dl?.message.attributes[A.attempts], "2");
    assert.equal(dl?.message.attributes[A.lastError], undefined);
    assert.equal((await stats("work")).deadLettered, 1);
    assert.equal((await stats("work")).inFlight, 0);
  });

  it("dead letter - a last-attempt lease that expires reaches the DLQ with no further pull", async (t) => {
    const { clock, broker, pull, stats } = await withDeadLetters(t);
    await broker.publish("jobs", [{ id: "m1", data: Buffer.from("m1") }]);
    await pull("work");
    clock.advance(1000);
    assert.equal((await pull("work"))[0]?.deliveryAttempt, 2, "the last attempt");
    const waiting = broker.pull(
      { subscription: "jobs-dlq", maxMessages: 10, waitMs: 60_000, ackDeadlineMs: 0, autoAck: false },
      never,
    );
    clock.advance(1100); // the lease has ended: the broker applies it by itself and wakes the DLQ reader
    const [dl] = await waiting;
    assert.equal(dl?.message.attributes[A.sourceId], "m1");
    assert.equal((await stats("work")).deadLettered, 1);
  });

  it("dead letter - an extended last-attempt lease is applied when the new deadline passes", async (t) => {
    const { clock, broker, pull, stats } = await withDeadLetters(t, { maxDeliveryAttempts: 1 });
    await broker.publish("jobs", [{ id: "m1", data: Buffer.from("m1") }]);
    const [d] = await pull("work");
    assert.ok(d);
    await broker.modifyAckDeadline("work", [d.ackId], 5000);
    clock.advance(1100);
    await broker.getStats([]); // let the sweep of the old deadline run: the lease still holds
    assert.equal((await stats("work")).inFlight, 1);
    const waiting = broker.pull(
      { subscription: "jobs-dlq", maxMessages: 10, waitMs: 60_000, ackDeadlineMs: 0, autoAck: false },
      never,
    );
    clock.advance(4000);
    assert.equal((await waiting)[0]?.message.attributes[A.sourceId], "m1");
    assert.equal((await stats("work")).deadLettered, 1);
  });

  it("dead letter - on an ordered subscription the key's next message goes out after a dead letter", async (t) => {
    const { broker, pull, nackAll } = await withDeadLetters(t, { ordered: true, maxDeliveryAttempts: 1 });
    await broker.publish("jobs", [
      { id: "k1", data: Buffer.from("1"), orderingKey: "k" },
      { id: "k2", data: Buffer.from("2"), orderingKey: "k" },
    ]);
    assert.deepEqual(
      (await nackAll("work")).map((d) => d.message.id),
      ["k1"],
    );
    assert.deepEqual(
      (await pull("work")).map((d) => d.message.id),
      ["k2"],
    );
    assert.equal((await pull("jobs-dlq"))[0]?.message.attributes[A.sourceId], "k1");
  });

  it("dead letter - without a dead-letter topic the message is dropped and counted", async (t) => {
    const { broker, pull, nackAll, stats } = await setup(t);
    await broker.createTopic({ name: "q", queue: true, queueSubscription: { maxDeliveryAttempts: 3 } });
    await broker.publish("q", [{ data: Buffer.from("x") }, { data: Buffer.from("y") }]);
    for (let i = 0; i < 3; i++) assert.equal((await nackAll("q")).length, 2);
    assert.deepEqual(await pull("q"), []);
    const s = await stats("q");
    assert.equal(s.deadLettered, 2);
    assert.equal(s.backlog, 0);
    assert.equal((await broker.getStats(["q"])).topics[0]?.messages, 0, "released from the log");
  });

  it("dead letter - a deleted dead-letter topic keeps the message in place and logs a stable reason", async (t) => {
    const warnings: Record<string, unknown>[] = [];
    const logger: Logger = { info() {}, error() {}, warn: (_m, f) => warnings.push(f ?? {}) };
    const { broker, pull, nackAll, stats } = await setup(t, { logger });
    await broker.createTopic({ name: "dlq" });
    await broker.createTopic({
      name: "q",
      queue: true,
      queueSubscription: { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" },
    });
    await broker.deleteTopic("dlq");
    await broker.publish("q", [{ data: Buffer.from("x") }]);
    await nackAll("q");
    const [again] = await pull("q");
    assert.equal(again?.deliveryAttempt, 2, "still on its subscription");
    assert.equal((await stats("q")).deadLettered, 0);
    assert.equal(warnings[0]?.reason, "DEAD_LETTER_TOPIC_NOT_FOUND");
    assert.equal(warnings[0]?.subscription, "q");
  });

  it("dead letter - a dead-letter topic without subscriptions would store nothing: kept in place", async (t) => {
    const { broker, pull, nackAll, stats } = await setup(t);
    await broker.createTopic({ name: "dlq" });
    await broker.createTopic({
      name: "q",
      queue: true,
      queueSubscription: { maxDeliveryAttempts: 1, deadLetterTopic: "dlq" },
    });
    await broker.publish("q", [{ data: Buffer.from("x") }]);
    await nackAll("q");
    const [again] = await pull("q");
    assert.equal(again?.deliveryAttempt, 2);
    assert.equal((await stats("q")).deadLettered, 0);
    await broker.createSubscription({ name: "dlq-sub", topic: "dlq" });
    await broker.nack("q", { ackIds: [again.ackId], messageIds: [] }, 0);
    assert.equal((await pull("dlq-sub")).length, 1, "dead-lettered once the topic can hold it");
  });

  it("dead letter - settings: defaults, bounds and stable reasons", async (t) => {
    const { broker } = await setup(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.createTopic({ name: "dlq" });
    const create = (s: Partial<SubscriptionSettings>) => broker.createSubscription({ name: "s", topic: "q", ...s });
    await rejectsWith(create({ deadLetterTopic: "nope" }), "TOPIC_NOT_FOUND", { field: "dead_letter_topic" });
    await rejectsWith(create({ deadLetterTopic: "q" }), "INVALID_ARGUMENT", { field: "dead_letter_topic" });
    await rejectsWith(create({ deadLetterTopic: "a\u0001" }), "INVALID_NAME", { field: "dead_letter_topic" });
    await rejectsWith(create({ maxDeliveryAttempts: 1001 }), "INVALID_ARGUMENT", { field: "max_delivery_attempts" });
    const retry = (minBackoffMs: number, maxBackoffMs: number) => create({ retry: { minBackoffMs, maxBackoffMs } });
    await rejectsWith(retry(0, 100), "INVALID_ARGUMENT", { field: "retry.min_backoff_ms" });
    await rejectsWith(retry(200, 100), "INVALID_ARGUMENT", { field: "retry.max_backoff_ms" });
    await rejectsWith(retry(1, 3_600_001), "INVALID_ARGUMENT", { field: "retry.max_backoff_ms" });
    assert.deepEqual(
      (await broker.listSubscriptions("q", 0, "")).items.map((s) => s.name),
      ["q"],
      "nothing created",
    );
    const s = await create({ deadLetterTopic: "dlq", retry: { minBackoffMs: 100, maxBackoffMs: 0 } });
    assert.equal(s.maxDeliveryAttempts, 5, "a dead-letter topic without a limit gets 5 attempts (as Pub/Sub)");
    assert.deepEqual(s.retry, { minBackoffMs: 100, maxBackoffMs: 600_000 });
    // Updating other settings does not re-check a dead-letter topic that was deleted meanwhile.
    await broker.deleteTopic("dlq");
    assert.equal((await broker.updateSubscription("s", { ackDeadlineMs: 5000 })).deadLetterTopic, "dlq");
    await rejectsWith(broker.updateSubscription("s", { deadLetterTopic: "other" }), "TOPIC_NOT_FOUND");
    await rejectsWith(broker.nack("q", { ackIds: [], messageIds: ["x"] }, 0, "e".repeat(1025)), "INVALID_ARGUMENT", {
      field: "error",
    });
  });
});
