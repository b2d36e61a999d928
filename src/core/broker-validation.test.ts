/** Core validation: every refused request fails with its stable reason and changes nothing. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { rejectsWith } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { type BrokerLimits, DEFAULT_LIMITS, type NewMessage, type PullRequest } from "./index.js";

async function setup(t: TestContext, limits: Partial<BrokerLimits> = {}) {
  const { store, broker } = startTestBroker(t, { limits });
  await broker.createTopic({ name: "q", queue: true });
  return { store, broker };
}

const bytes = (n: number): NewMessage => ({ data: new Uint8Array(n) });
const pull = (overrides: Partial<PullRequest> = {}): PullRequest => ({
  subscription: "q",
  maxMessages: 0,
  waitMs: 0,
  ackDeadlineMs: 0,
  autoAck: false,
  ...overrides,
});
const never = new AbortController().signal;

describe("core validation", () => {
  it("names - empty, over 255 bytes or with control characters are INVALID_NAME", async (t) => {
    const { broker } = await setup(t);
    const bad = ["", "a".repeat(256), "é".repeat(128), "a\u0000b", "tab\there", "new\nline", "del\u007f", "bad\ufffd"];
    for (const name of bad) {
      await rejectsWith(broker.createTopic({ name }), "INVALID_NAME");
      await rejectsWith(broker.createSubscription({ name, topic: "q" }), "INVALID_NAME");
      await rejectsWith(broker.publish(name, [bytes(1)]), "INVALID_NAME");
      await rejectsWith(broker.pull(pull({ subscription: name }), never), "INVALID_NAME");
      await rejectsWith(broker.getTopic(name), "INVALID_NAME");
    }
    await rejectsWith(broker.createSubscription({ name: "s", topic: "" }), "INVALID_NAME");
    for (const name of ["a".repeat(255), "é".repeat(127), "spaces and ünïcödé ✓", "a/b.c-d_e:f"]) {
      assert.equal((await broker.createTopic({ name })).topic.name, name);
    }
    assert.equal((await broker.listTopics(0, "")).items.length, 5);
  });

  it("publish - a message over limits.maxMessageBytes is PAYLOAD_TOO_LARGE, attributes included", async (t) => {
    const { broker, store } = await setup(t, { maxMessageBytes: 100 });
    await rejectsWith(broker.publish("q", [bytes(1), bytes(101)]), "PAYLOAD_TOO_LARGE", { index: "1", limit: "100" });
    await rejectsWith(
      broker.publish("q", [{ data: new Uint8Array(90), attributes: { key: "12345678" } }]),
      "PAYLOAD_TOO_LARGE",
    );
    assert.equal((await store.topicCounters("q")).lastSeq, 0, "nothing of a refused batch is stored");
    assert.equal((await broker.publish("q", [bytes(100)]))[0]?.seq, 1);
  });

  it("publish - too many messages or bytes in one publish is BATCH_TOO_LARGE", async (t) => {
    const { broker, store } = await setup(t, { maxBatchMessages: 3, maxBatchBytes: 250 });
    await rejectsWith(broker.publish("q", [bytes(1), bytes(1), bytes(1), bytes(1)]), "BATCH_TOO_LARGE", { limit: "3" });
    await rejectsWith(broker.publish("q", [bytes(100), bytes(100), bytes(100)]), "BATCH_TOO_LARGE", { limit: "250" });
    assert.equal((await store.topicCounters("q")).lastSeq, 0);
    assert.equal((await broker.publish("q", [bytes(100), bytes(100), bytes(50)])).length, 3);
  });

  it("publish - empty publish, bad priority, id, attributes, delay or TTL are INVALID_ARGUMENT", async (t) => {
    const { broker, store } = await setup(t);
    await rejectsWith(broker.publish("q", []), "INVALID_ARGUMENT", { field: "messages" });
    for (const priority of [10, -1, 1.5, Number.NaN]) {
      await rejectsWith(broker.publish("q", [{ ...bytes(1), priority }]), "INVALID_ARGUMENT", { field: "priority" });
    }
    await rejectsWith(broker.publish("q", [{ ...bytes(1), id: "x".repeat(1025) }]), "INVALID_ARGUMENT", {
      field: "id",
    });
    await rejectsWith(broker.publish("q", [{ ...bytes(1), id: "a\nb" }]), "INVALID_ARGUMENT", { field: "id" });
    await rejectsWith(broker.publish("q", [{ ...bytes(1), orderingKey: "k".repeat(1025) }]), "INVALID_ARGUMENT", {
      field: "ordering_key",
    });
    await rejectsWith(broker.publish("q", [{ ...bytes(1), attributes: { "": "v" } }]), "INVALID_ARGUMENT", {
      field: "attributes",
    });
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, ""]));
    await rejectsWith(broker.publish("q", [{ ...bytes(1), attributes: many }]), "INVALID_ARGUMENT", {
      field: "attributes",
    });
    await rejectsWith(broker.publish("q", [{ ...bytes(1), delayMs: -1 }]), "INVALID_ARGUMENT", { field: "delay_ms" });
    await rejectsWith(broker.publish("q", [{ ...bytes(1), ttlMs: 1.5 }]), "INVALID_ARGUMENT", { field: "ttl_ms" });
    assert.equal((await store.topicCounters("q")).lastSeq, 0);
    assert.deepEqual(
      (
        await broker.publish("q", [
          { ...bytes(1), priority: 9 },
          { ...bytes(1), priority: 0 },
        ])
      ).map((r) => r.seq),
      [1, 2],
    );
  });

  it("publish - NaN times, control characters in keys and the first failing check of a message", async (t) => {
    const { broker, store } = await setup(t, { maxAttributes: 2 });
    for (const field of ["delayMs", "ttlMs"] as const) {
      for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
        await rejectsWith(broker.publish("q", [{ ...bytes(1), [field]: value }]), "INVALID_ARGUMENT", {
          field: field === "delayMs" ? "delay_ms" : "ttl_ms",
        });
      }
    }
    await rejectsWith(broker.publish("q", [{ ...bytes(1), orderingKey: "k\u0001" }]), "INVALID_ARGUMENT", {
      field: "ordering_key",
    });
    // One message, several faults: priority before id, id before ordering key, attribute count
    // before an empty attribute key, attributes before times.
    const faults = (m: Partial<NewMessage>) => broker.publish("q", [{ ...bytes(1), ...m }]);
    await rejectsWith(faults({ priority: 10, id: "a\nb" }), "INVALID_ARGUMENT", { field: "priority" });
    await rejectsWith(faults({ id: "a\nb", orderingKey: "k\n" }), "INVALID_ARGUMENT", { field: "id" });
    await assert.rejects(faults({ attributes: { "": "v", b: "", c: "" } }), /more than 2 attributes/);
    await assert.rejects(faults({ attributes: { b: "", "": "v" }, delayMs: -1 }), /empty attribute key/);
    // The first bad message is the one reported.
    await assert.rejects(
      broker.publish("q", [bytes(1), { ...bytes(1), priority: 11 }, { ...bytes(1), id: "\n" }]),
      /message 1:/,
    );
    // Nothing of the refused publishes was stored; a message at every limit is taken.
    assert.equal((await store.topicCounters("q")).lastSeq, 0);
    const [ok] = await faults({ attributes: { a: "1", b: "2" }, id: "x", orderingKey: "k", delayMs: 1, ttlMs: 5 });
    assert.equal(ok?.seq, 1);
    assert.equal((await store.topicCounters("q")).lastSeq, 1);
  });

  it("pull and peek - max_messages over the cap, bad wait or ack deadline are INVALID_ARGUMENT", async (t) => {
    const { broker } = await setup(t);
    const cap = DEFAULT_LIMITS.maxPullMessages;
    await rejectsWith(broker.pull(pull({ maxMessages: cap + 1 }), never), "INVALID_ARGUMENT", {
      field: "max_messages",
    });
    await rejectsWith(broker.pull(pull({ waitMs: -1 }), never), "INVALID_ARGUMENT", { field: "wait_ms" });
    await rejectsWith(
      broker.pull(pull({ ackDeadlineMs: DEFAULT_LIMITS.maxAckDeadlineMs + 1 }), never),
      "INVALID_ARGUMENT",
      {
        field: "ack_deadline_ms",
      },
    );
    await rejectsWith(broker.peek("q", cap + 1), "INVALID_ARGUMENT", { field: "max_messages" });
    assert.deepEqual(await broker.pull(pull({ maxMessages: cap }), never), []);
  });

  it("pull - max_messages 0 means limits.defaultPullMessages", async (t) => {
    const { broker } = await setup(t, { defaultPullMessages: 2 });
    await broker.publish("q", [bytes(1), bytes(1), bytes(1)]);
    assert.equal((await broker.pull(pull(), never)).length, 2);
    await assert.equal((await broker.peek("q", 0)).length, 1);
  });

  it("settings - retention and limits out of range are INVALID_ARGUMENT and create nothing", async (t) => {
    const { broker } = await setup(t);
    for (const [field, spec] of [
      ["retain_acked_ms", { retainAckedMs: -1 }],
      ["retain_acked_ms", { retainAckedMs: 366 * 24 * 3600 * 1000 }],
      ["max_messages", { maxMessages: 1.5 }],
      ["max_bytes", { maxBytes: -10 }],
      ["max_age_ms", { maxAgeMs: 366 * 24 * 3600 * 1000 }],
      ["overflow", { overflow: "sideways" as unknown as "reject" }],
    ] as const) {
      await rejectsWith(broker.createTopic({ name: "t", ...spec }), "INVALID_ARGUMENT", { field });
      await rejectsWith(broker.updateTopic("q", spec), "INVALID_ARGUMENT", { field });
    }
    await rejectsWith(broker.getTopic("t"), "TOPIC_NOT_FOUND");
    const q = await broker.getTopic("q");
    assert.deepEqual([q.retainAckedMs, q.maxMessages, q.maxBytes, q.maxAgeMs, q.overflow], [0, 0, 0, 0, "reject"]);
  });

  it("lookups - missing topics and subscriptions are NOT_FOUND reasons; duplicates ALREADY_EXISTS", async (t) => {
    const { broker } = await setup(t);
    await rejectsWith(broker.publish("nope", [bytes(1)]), "TOPIC_NOT_FOUND", { topic: "nope" });
    await rejectsWith(broker.createSubscription({ name: "s", topic: "nope" }), "TOPIC_NOT_FOUND");
    await rejectsWith(broker.listSubscriptions("nope", 0, ""), "TOPIC_NOT_FOUND");
    await rejectsWith(broker.pull(pull({ subscription: "nope" }), never), "SUBSCRIPTION_NOT_FOUND");
    await rejectsWith(broker.ack("nope", { ackIds: ["x"], messageIds: [] }), "SUBSCRIPTION_NOT_FOUND");
    await rejectsWith(broker.setPaused("nope", true), "SUBSCRIPTION_NOT_FOUND");
    await rejectsWith(broker.createTopic({ name: "q" }), "ALREADY_EXISTS");
    await rejectsWith(broker.createSubscription({ name: "q", topic: "q" }), "ALREADY_EXISTS");
    await rejectsWith(broker.updateSubscription("q", { topic: "other" }), "INVALID_ARGUMENT", { field: "topic" });
  });
});
