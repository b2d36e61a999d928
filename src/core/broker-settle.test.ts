/** Core ack/nack/modifyAckDeadline failures: one reason, the failed ids listed, the valid ids applied. */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError, type Reason } from "../errors/index.js";
import type { PullRequest } from "./index.js";

async function setup(t: TestContext) {
  const { store, clock, broker } = startTestBroker(t);
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 1000 } });
  await broker.publish(
    "q",
    ["m1", "m2", "m3"].map((id) => ({ id, data: Buffer.from(id) })),
  );
  const pull = (overrides: Partial<PullRequest> = {}) =>
    broker.pull(
      { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false, ...overrides },
      never,
    );
  const backlog = async () => (await broker.getStats(["q"])).subscriptions[0]?.backlog;
  return { store, clock, broker, pull, backlog };
}

const never = new AbortController().signal;

function failure(reason: Reason, metadata: Record<string, string>) {
  return (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.reason, reason, e.message);
    for (const [k, v] of Object.entries(metadata)) assert.equal(e.metadata[k], v, `metadata.${k}`);
    return true;
  };
}

const ids = (ackIds: string[], messageIds: string[] = []) => ({ ackIds, messageIds });

describe("core settle", () => {
  it("ack - a garbage id is INVALID_ACK_ID; the valid ids of the same call are acked", async (t) => {
    const { broker, pull, backlog } = await setup(t);
    const [a, b] = (await pull()).map((d) => d.ackId);
    await assert.rejects(
      broker.ack("q", ids([a ?? "", "garbage", b ?? ""])),
      failure("INVALID_ACK_ID", { failed_ack_ids: "garbage", failed_message_ids: "", settled: "2" }),
    );
    assert.equal(await backlog(), 1);
    await assert.rejects(
      broker.ack("q", ids([a ?? ""])),
      failure("DELIVERY_UNKNOWN", { failed_ack_ids: a ?? "", settled: "0" }),
    );
  });

  it("ack - an ack id of an earlier delivery is LEASE_EXPIRED; the current one works", async (t) => {
    const { clock, broker, pull, backlog } = await setup(t);
    const first = await pull({ maxMessages: 1 });
    clock.advance(1000);
    const second = await pull({ maxMessages: 1 });
    assert.equal(second[0]?.deliveryAttempt, 2);
    const [old, current] = [first[0]?.ackId ?? "", second[0]?.ackId ?? ""];
    await assert.rejects(
      broker.ack("q", ids([old, current])),
      failure("LEASE_EXPIRED", { failed_ack_ids: old, settled: "1" }),
    );
    assert.equal(await backlog(), 2);
  });

  it("ack - the first failure names the reason, every failed id is listed", async (t) => {
    const { broker, pull, backlog } = await setup(t);
    const [a] = (await pull({ maxMessages: 1 })).map((d) => d.ackId);
    await broker.ack("q", ids([a ?? ""]));
    await assert.rejects(
      broker.ack("q", ids([a ?? "", "bad"], ["nope", "m2"])),
      (e: unknown) =>
        failure("DELIVERY_UNKNOWN", { failed_ack_ids: `${a},bad`, failed_message_ids: "nope", settled: "1" })(e) &&
        /and 2 more/.test((e as Error).message),
    );
    assert.equal(await backlog(), 1, "m2 was acked by id");
  });

  it("ack - by message id, leased or not; unknown ids are DELIVERY_UNKNOWN", async (t) => {
    const { broker, pull, backlog } = await setup(t);
    await pull({ maxMessages: 1 });
    await broker.ack("q", ids([], ["m1", "m3"]));
    assert.equal(await backlog(), 1);
    await assert.rejects(
      broker.ack("q", ids([], ["m1", "m2"])),
      failure("DELIVERY_UNKNOWN", { failed_message_ids: "m1", failed_ack_ids: "", settled: "1" }),
    );
    assert.equal(await backlog(), 0);
  });

  it("ack - no ids at all, or over 10,000, is INVALID_ARGUMENT", async (t) => {
    const { broker } = await setup(t);
    await assert.rejects(broker.ack("q", ids([])), failure("INVALID_ARGUMENT", { field: "ack_ids" }));
    await assert.rejects(broker.nack("q", ids([]), 0), failure("INVALID_ARGUMENT", { field: "ack_ids" }));
    await assert.rejects(broker.modifyAckDeadline("q", [], 10), failure("INVALID_ARGUMENT", { field: "ack_ids" }));
    const tooMany = Array.from({ length: 10_001 }, (_, i) => `id${i}`);
    await assert.rejects(broker.ack("q", ids([], tooMany)), failure("INVALID_ARGUMENT", { field: "ack_ids" }));
  });

  it("nack - a bad id fails the call, the good ones are nacked", async (t) => {
    const { broker, pull } = await setup(t);
    const [a] = (await pull({ maxMessages: 1, ackDeadlineMs: 60_000 })).map((d) => d.ackId);
    await assert.rejects(
      broker.nack("q", ids([a ?? "", "x-y"]), 0),
      failure("INVALID_ACK_ID", { failed_ack_ids: "x-y" }),
    );
    const again = await pull();
    assert.deepEqual(
      again.map((d) => [d.message.id, d.deliveryAttempt]),
      [
        ["m1", 2],
        ["m2", 1],
        ["m3", 1],
      ],
    );
    await assert.rejects(broker.nack("q", ids([a ?? ""]), 0), failure("LEASE_EXPIRED", { failed_ack_ids: a ?? "" }));
    await assert.rejects(broker.nack("q", ids([], ["m1"]), -1), failure("INVALID_ARGUMENT", { field: "delay_ms" }));
  });

  it("modifyAckDeadline - stale ids fail, valid ones are extended", async (t) => {
    const { clock, broker, pull } = await setup(t);
    const [old] = (await pull({ maxMessages: 1 })).map((d) => d.ackId);
    clock.advance(1000);
    const [current] = (await pull({ maxMessages: 1 })).map((d) => d.ackId);
    await assert.rejects(
      broker.modifyAckDeadline("q", [old ?? "", current ?? ""], 10_000),
      failure("LEASE_EXPIRED", { failed_ack_ids: old ?? "", settled: "1" }),
    );
    clock.advance(5000);
    assert.deepEqual(
      (await pull()).map((d) => d.message.id),
      ["m2", "m3"],
      "m1's lease was extended",
    );
    await assert.rejects(
      broker.modifyAckDeadline("q", [current ?? ""], 600_001),
      failure("INVALID_ARGUMENT", { field: "ack_deadline_ms" }),
    );
  });
});
