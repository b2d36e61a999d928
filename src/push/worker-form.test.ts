/** Form pushes (the OPQ bridge's delivery) on the real core with a fake clock and a scripted sender. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { createFakeSender, type FakeSender, flush, pushConfig, setupCore } from "../../test/helpers/push-test-kit.js";
import type { Broker, PushSettings } from "../core/index.js";
import { silentLogger } from "../util/index.js";
import { createPushAgent } from "./agent.js";
import { isSuccess } from "./push-attempt.js";

/** A topic `t` with an ordered form push `t` (as the OPQ bridge makes it). */
async function opqTopic(
  t: TestContext,
  push: Partial<PushSettings> = {},
  maxDeliveryAttempts = 0,
  pushAllowedHosts: string[] = [],
) {
  const { broker, clock } = setupCore(t);
  const sender = createFakeSender();
  if (maxDeliveryAttempts > 0) await broker.createTopic({ name: "dlq", queue: true });
  await broker.createTopic({
    name: "t",
    queue: true,
    retainAckedMs: 3_600_000,
    queueSubscription: {
      ordered: true,
      push: pushConfig({ endpoint: "", form: true, onlyServerErrorsFail: true, ...push }),
      maxDeliveryAttempts,
      deadLetterTopic: maxDeliveryAttempts > 0 ? "dlq" : "",
    },
  });
  const agent = createPushAgent({
    broker,
    clock,
    sender,
    random: () => 0,
    logger: silentLogger,
    limits: { pushAllowedHosts },
  });
  await agent.start();
  t.after(() => agent.close(0));
  return { broker, clock, sender };
}

const publish = (broker: Broker, ...messages: string[]) =>
  broker.publish(
    "t",
    messages.map((m) => ({
      data: new Uint8Array(),
      orderingKey: "opq",
      attributes: { "form.url": `http://target.test/${m}`, "form.message": m },
    })),
  );

const targets = (sender: FakeSender) => sender.calls.map((c) => new URL(c.request.url).pathname.slice(1));

async function stats(broker: Broker) {
  const s = (await broker.getStats(["t"])).subscriptions.find((x) => x.name === "t");
  assert.ok(s);
  return s;
}

describe("push form delivery", () => {
  it("form push - success rules: 2xx; below 500 with only_server_errors_fail; anything with any_response_is_success", () => {
    const p = pushConfig();
    const rows = [200, 204, 302, 404, 499, 500, 503].map((s) => [
      s,
      isSuccess(p, s),
      isSuccess({ ...p, onlyServerErrorsFail: true }, s),
      isSuccess({ ...p, anyResponseIsSuccess: true }, s),
    ]);
    assert.deepEqual(rows, [
      [200, true, true, true],
      [204, true, true, true],
      [302, false, true, true],
      [404, false, true, true],
      [499, false, true, true],
      [500, false, false, true],
      [503, false, false, true],
    ]);
  });

  it("form push - one at a time in seq order; a failure blocks the topic and is retried first, after the backoff", async (t) => {
    const { broker, clock, sender } = await opqTopic(t);
    await publish(broker, "a", "b", "c");
    await flush();
    assert.deepEqual(targets(sender), ["a"]);
    sender.calls[0]?.respond(404); // delivered under the 5xx rule
    await flush();
    assert.deepEqual(targets(sender), ["a", "b"]);
    sender.calls[1]?.respond(503);
    await flush();
    assert.deepEqual(targets(sender), ["a", "b"], "c waits behind the failed b");
    clock.advance(99);
    await flush();
    assert.equal(sender.calls.length, 2, "no retry before the 100 ms backoff");
    clock.advance(1);
    await flush();
    assert.deepEqual(targets(sender), ["a", "b", "b"]);
    sender.calls[2]?.fail("ECONNREFUSED");
    await flush();
    clock.advance(199);
    await flush();
    assert.equal(sender.calls.length, 3, "the second backoff doubles to 200 ms");
    clock.advance(1);
    await flush();
    sender.calls[3]?.respond(200);
    await flush();
    sender.calls[4]?.respond(200);
    await flush();
    assert.deepEqual(targets(sender), ["a", "b", "b", "b", "c"]);
    assert.equal((await stats(broker)).backlog, 0);
  });

  it("form push - a message without a usable target never blocks its topic: dropped at once (no dead-letter topic), counted, no backoff", async (t) => {
    const { broker, sender } = await opqTopic(t);
    await broker.publish("t", [{ data: new Uint8Array(), orderingKey: "opq", attributes: { "form.message": "x" } }]);
    await publish(broker, "after");
    await flush();
    assert.deepEqual(targets(sender), ["after"], "the next message goes out at once, without a backoff");
    sender.calls[0]?.respond(200);
    await flush();
    const s = await stats(broker);
    assert.equal(s.deadLettered, 1);
    assert.equal(s.backlog, 0);
    assert.equal(s.push?.consecutiveFailures, 0);
    assert.equal(s.push?.lastError, "");
  });

  it("form push - a target host no longer allowed: the message goes to the dead-letter topic at once, whatever its attempts", async (t) => {
    const { broker, sender } = await opqTopic(t, {}, 5, ["target.test"]);
    await broker.publish("t", [
      {
        data: new Uint8Array(),
        orderingKey: "opq",
        attributes: { "target.url": "http://old.example/x", "form.message": "old" },
      },
    ]);
    await publish(broker, "after");
    await flush();
    assert.deepEqual(targets(sender), ["after"]);
    const [letter] = await broker.pull(
      { subscription: "dlq", maxMessages: 5, waitMs: 0, ackDeadlineMs: 0, autoAck: true },
      new AbortController().signal,
    );
    assert.equal(letter?.message.attributes["form.message"], "old");
    assert.equal(letter?.message.attributes["switchyard-dead-letter-reason"], "undeliverable");
    assert.equal(letter?.message.attributes["switchyard-dead-letter-attempts"], "1");
    assert.equal(
      letter?.message.attributes["switchyard-dead-letter-last-error"],
      "target.url host old.example is not in push-allowed-hosts",
    );
    assert.equal((await stats(broker)).push?.lastError, "target.url host old.example is not in push-allowed-hosts");
  });

  it("form push - an undeliverable message whose dead-letter topic is gone stays, and is retried after a backoff (never lost, never hot-looped)", async (t) => {
    const { broker, clock, sender } = await opqTopic(t, {}, 5);
    await broker.deleteTopic("dlq");
    await broker.publish("t", [{ data: new Uint8Array(), orderingKey: "opq", attributes: { "form.message": "x" } }]);
    await publish(broker, "after");
    await flush();
    assert.equal(sender.calls.length, 0);
    const s = await stats(broker);
    assert.equal(s.backlog, 2);
    assert.equal(s.deadLettered, 0);
    assert.equal(s.push?.consecutiveFailures, 1);
    clock.advance(99);
    await flush();
    assert.equal((await stats(broker)).push?.consecutiveFailures, 1, "no retry before the backoff");
    clock.advance(1);
    await flush();
    assert.equal((await stats(broker)).push?.consecutiveFailures, 2);
  });

  it("form push - a Seek (replay) ends the backoff at once and delivers from its target in order", async (t) => {
    const { broker, sender } = await opqTopic(t);
    await publish(broker, "a", "b", "c");
    await flush();
    sender.calls[0]?.respond(200);
    await flush();
    sender.calls[1]?.respond(500); // b fails: backoff
    await flush();
    for (let i = 0; i < 5; i++) {
      const s = await stats(broker);
      assert.ok((s.push?.nextAttemptTimeMs ?? 0) > 0, "backing off");
    }
    await broker.seek("t", { kind: "seq", seq: 1 });
    await flush();
    assert.deepEqual(targets(sender), ["a", "b", "a"], "at once, from the first message again");
    assert.equal((await stats(broker)).push?.consecutiveFailures, 0);
    sender.calls[2]?.respond(200);
    await flush();
    sender.calls[3]?.respond(200);
    await flush();
    sender.calls[4]?.respond(200);
    await flush();
    assert.deepEqual(targets(sender), ["a", "b", "a", "b", "c"]);
    // Fast-forward past everything: nothing more goes out.
    await broker.seek("t", { kind: "seq", seq: 4 });
    await flush();
    assert.equal(sender.calls.length, 5);
  });

  it("form push - with max attempts the message is dead-lettered and the topic moves on", async (t) => {
    const { broker, clock, sender } = await opqTopic(t, {}, 2);
    await publish(broker, "a", "b");
    await flush();
    sender.calls[0]?.respond(500);
    await flush();
    clock.advance(100);
    await flush();
    sender.calls[1]?.respond(500);
    await flush();
    clock.advance(200);
    await flush();
    assert.deepEqual(targets(sender), ["a", "a", "b"]);
    const dl = (await broker.getStats(["dlq"])).subscriptions[0];
    assert.equal(dl?.backlog, 1);
  });
});
