/**
 * Responses bounded by bytes (issue 16 item 8): Pull, Peek and Subscribe never answer more than
 * `max_bytes` (default 4 MiB, gRPC's default receive limit) of messages, and auto-ack settles only
 * what the response carries.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError } from "../errors/index.js";

const MIB = 1024 * 1024;
const never = new AbortController().signal;

async function setup(t: TestContext, messages = 10, size = 900 * 1024) {
  const { broker } = startTestBroker(t);
  await broker.createTopic({ name: "q", queue: true });
  for (let i = 0; i < messages; i++) await broker.publish("q", [{ id: `m${i}`, data: Buffer.alloc(size, i) }]);
  return broker;
}

const bytesOf = (got: { message: { data: Uint8Array } }[]) => got.reduce((n, d) => n + d.message.data.length, 0);
const pull = (maxBytes?: number, autoAck = false) => ({
  subscription: "q",
  maxMessages: 1000,
  waitMs: 0,
  ackDeadlineMs: 0,
  autoAck,
  ...(maxBytes === undefined ? {} : { maxBytes }),
});

describe("core responses bounded by bytes", () => {
  it("pull - answers at most 4 MiB of messages by default, in delivery order; the rest follows", async (t) => {
    const broker = await setup(t);
    const first = await broker.pull(pull(), never);
    assert.equal(first.length, 4, "four 900 KiB messages fit 4 MiB, five do not");
    assert.ok(bytesOf(first) <= 4 * MIB);
    assert.deepEqual(
      first.map((d) => d.message.id),
      ["m0", "m1", "m2", "m3"],
    );
    const second = await broker.pull(pull(), never);
    assert.deepEqual(
      second.map((d) => d.message.id),
      ["m4", "m5", "m6", "m7"],
    );
  });

  it("pull - max_bytes sets the bound; one message larger than it still goes alone", async (t) => {
    const broker = await setup(t);
    assert.equal((await broker.pull(pull(2 * MIB), never)).length, 2);
    const one = await broker.pull(pull(1000), never);
    assert.deepEqual(
      one.map((d) => d.message.id),
      ["m2"],
    );
  });

  it("pull - auto_ack acks only what the response carries", async (t) => {
    const broker = await setup(t);
    const got = await broker.pull(pull(undefined, true), never);
    assert.equal(got.length, 4);
    const stats = await broker.getStats(["q"]);
    assert.equal(stats.subscriptions[0]?.backlog, 6, "the six messages not sent are still there");
    const rest = await broker.pull(pull(64 * MIB, true), never);
    assert.deepEqual(
      rest.map((d) => d.message.id),
      ["m4", "m5", "m6", "m7", "m8", "m9"],
    );
  });

  it("pull and peek - max_bytes above the server's maximum (64 MiB) is refused, not built", async (t) => {
    const broker = await setup(t, 1, 10);
    const refused = (e: unknown) =>
      e instanceof BrokerError && e.reason === "INVALID_ARGUMENT" && e.metadata.field === "max_bytes";
    await assert.rejects(broker.pull(pull(64 * MIB + 1), never), refused);
    await assert.rejects(broker.pull(pull(Number.MAX_SAFE_INTEGER, true), never), refused);
    await assert.rejects(broker.peek("q", 10, 0, never, { maxBytes: 64 * MIB + 1 }), refused);
    assert.equal((await broker.peek("q", 10, 0, never, { maxBytes: 64 * MIB })).length, 1);
    assert.equal((await broker.pull(pull(64 * MIB, true), never)).length, 1);
  });

  it("pull - auto_ack ended while its ack was being synced: said in the log with the seqs", async (t) => {
    const warnings: { message: string; fields: Record<string, unknown> | undefined }[] = [];
    const logger = {
      info: () => {},
      warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields }),
      error: () => {},
    };
    const { broker, store } = startTestBroker(t, { logger });
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [{ data: Buffer.from("a") }, { data: Buffer.from("b") }]);
    const call = new AbortController();
    const lease = store.lease.bind(store);
    store.lease = async (name, options) => {
      const got = await lease(name, options);
      call.abort(); // the client goes away while the auto-ack write commits
      return got;
    };
    await broker.pull(pull(undefined, true), call.signal);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]?.message ?? "", /auto_ack ended while its ack was being synced/);
    assert.deepEqual(warnings[0]?.fields, { subscription: "q", messages: 2, seqs: "1,2" });
  });

  it("pull - auto_ack cancelled before its write runs takes nothing; the messages stay for the next Pull", async (t) => {
    const { broker, store } = startTestBroker(t);
    await broker.createTopic({ name: "q", queue: true });
    await broker.publish("q", [{ data: Buffer.from("a") }, { data: Buffer.from("b") }]);
    const call = new AbortController();
    const lease = store.lease.bind(store);
    store.lease = async (name, options) => {
      call.abort(); // the client goes away while the auto-ack write waits for its turn
      return lease(name, options);
    };
    const cancelled = await broker.pull(pull(undefined, true), call.signal).catch(() => []);
    assert.equal(cancelled.length, 0, "a cancelled call takes nothing");
    store.lease = lease;
    const next = await broker.pull(pull(undefined, true), never);
    assert.deepEqual(
      next.map((d) => Buffer.from(d.message.data).toString()),
      ["a", "b"],
    );
  });

  it("peek - bounded like pull; max_bytes in the options", async (t) => {
    const broker = await setup(t);
    assert.equal((await broker.peek("q", 100)).length, 4);
    assert.equal((await broker.peek("q", 100, 0, never, { maxBytes: 2 * MIB })).length, 2);
    assert.equal((await broker.peek("q", 100, 0, never, { fromBack: true, maxBytes: 2 * MIB }))[0]?.message.id, "m9");
  });

  it("subscribe - each response stays within 4 MiB even with a larger window", async (t) => {
    const broker = await setup(t);
    const stop = new AbortController();
    t.after(() => stop.abort());
    const stream = broker.subscribe(
      { subscription: "q", maxOutstandingMessages: 100, maxOutstandingBytes: 64 * MIB },
      stop.signal,
    );
    let seen = 0;
    for await (const batch of stream) {
      assert.ok(bytesOf(batch) <= 4 * MIB, `a batch of ${bytesOf(batch)} bytes`);
      seen += batch.length;
      if (seen >= 10) break;
    }
    assert.equal(seen, 10);
    stop.abort();
  });
});
