/** The ohpq session's bounds: line length, connections, idle and drain timeouts, read-ahead, SUBs, metrics. */
import assert from "node:assert/strict";
import { Duplex } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { createOhpqHarness, type OhpqHarnessOptions } from "../../../test/helpers/ohpq-harness.js";
import { createFakeClock } from "../../util/index.js";

function harness(t: TestContext, options: OhpqHarnessOptions = {}) {
  const clock = createFakeClock();
  const h = createOhpqHarness({ clock, ...options });
  t.after(() => h.close());
  return { ...h, clock };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 5 s of real time, polling) until `done()` holds; fails with `what` otherwise. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/**
 * A connection whose client never reads: no write ever completes, so `write()` returns false
 * once 16 bytes wait. `send` is what the client sends.
 */
function stalledConnection(h: ReturnType<typeof harness>) {
  const socket = new Duplex({ writableHighWaterMark: 16, read() {}, write() {} });
  let closed = false;
  socket.once("close", () => {
    closed = true;
  });
  h.bridge.handleConnection(socket);
  return { send: (text: string) => socket.push(Buffer.from(text)), socket, closed: () => closed };
}

describe("ohpq session bounds", () => {
  it("ohpq bounds - a line over the limit gets ERROR line too long and the connection closes", async (t) => {
    const h = harness(t, { ohpq: { maxLineBytes: 16 } });
    const ok = h.connect();
    await ok.roundtrip(`PUB q ${"x".repeat(10)}\r\n`, "OK\n"); // 16 bytes, then CRLF
    await ok.roundtrip(`PUB q ${"y".repeat(10)}\n`, "OK\n");
    const c = h.connect();
    await c.roundtrip(`PUB q ${"x".repeat(11)}\nPING\n`, "ERROR line too long\n");
    await c.closed();
    // Known to be too long before its end arrives: no need to wait for (or buffer) the rest.
    const early = h.connect();
    await early.roundtrip("x".repeat(17), "ERROR line too long\n");
    await early.closed();
    assert.equal(h.metrics.errors.get("line_too_long"), 2);
  });

  it("ohpq bounds - connections over the limit are refused with ERROR too many connections", async (t) => {
    const h = harness(t, { ohpq: { maxConnections: 2 } });
    const a = h.connect();
    const b = h.connect();
    const refused = h.connect();
    await refused.expect("ERROR too many connections\n");
    await refused.closed();
    await a.roundtrip("PING\n", "PONG\n");
    await b.roundtrip("PING\n", "PONG\n");
    assert.equal(h.bridge.connections(), 2);
    a.socket.destroy();
    const deadline = Date.now() + 2_000;
    while (h.bridge.connections() > 1 && Date.now() < deadline) await sleep(5);
    await h.connect().roundtrip("PING\n", "PONG\n");
  });

  it("ohpq bounds - a silent connection is closed after the idle timeout", async (t) => {
    const h = harness(t, { ohpq: { idleTimeoutMs: 10_000 } });
    const c = h.connect();
    await c.roundtrip("PUB idle x\n", "OK\n");
    await c.roundtrip("GET idle\n", "MESSAGE idle x\n");
    await c.roundtrip("ACK idle\n", "OK\n");
    h.clock.advance(9_000);
    await c.roundtrip("PING\n", "PONG\n"); // input restarts the clock
    h.clock.advance(9_999);
    await sleep(10);
    assert.equal(c.buffered().length, 0, "not idle yet");
    h.clock.advance(1);
    await c.expect("ERROR idle timeout\n");
    await c.closed();
  });

  it("ohpq bounds - a connection holding a GET's pending message is never idle (no ack timeout by default)", async (t) => {
    const h = harness(t, { ohpq: { idleTimeoutMs: 10_000 } });
    const c = h.connect();
    await c.roundtrip("PUB held x\n", "OK\n");
    await c.roundtrip("GET held\n", "MESSAGE held x\n");
    h.clock.advance(60_000);
    await sleep(10);
    assert.equal(c.buffered().length, 0, "still open: the consumer is working on its message");
    await c.roundtrip("ACK held\n", "OK\n");
    assert.equal((await h.clients.admin.getStats({ topics: ["held"] })).subscriptions[0]?.deadLettered, 0n);
    // Once nothing is pending, silence counts again (from the last input).
    h.clock.advance(10_000);
    await c.expect("ERROR idle timeout\n");
    await c.closed();
  });

  it("ohpq bounds - with an ack timeout, a pending message goes back first, then the idle timeout applies", async (t) => {
    const h = harness(t, { ohpq: { idleTimeoutMs: 10_000, ackTimeoutMs: 30_000 } });
    const c = h.connect();
    await c.roundtrip("PUB slow x\n", "OK\n");
    await c.roundtrip("GET slow\n", "MESSAGE slow x\n");
    h.clock.advance(20_000);
    await sleep(10);
    assert.equal(c.buffered().length, 0, "pending: not idle");
    h.clock.advance(10_000); // the ack timeout: the message goes back, the slot empties
    await sleep(10);
    h.clock.advance(10_000);
    await c.expect("ERROR idle timeout\n");
    await c.closed();
    await h.connect().roundtrip("GET slow\n", "MESSAGE slow x\n");
  });

  it("ohpq bounds - GET's pending messages per connection are capped: ERROR too many pending messages", async (t) => {
    const h = harness(t, { ohpq: { maxPendingMessages: 2 } });
    const c = h.connect();
    await c.roundtrip("PUB a 1\nPUB b 2\nPUB c 3\n", "OK\nOK\nOK\n");
    await c.roundtrip("GET a\nGET b\nGET c\n", "MESSAGE a 1\nMESSAGE b 2\nERROR too many pending messages\n");
    await c.roundtrip("GET a\n", "MESSAGE a 1\n"); // the one it holds, shown again
    await c.roundtrip("ACK a\nGET c\n", "OK\nMESSAGE c 3\n");
    // Nothing was leased by the refused GET.
    assert.equal((await h.clients.admin.getStats({ topics: ["c"] })).subscriptions[0]?.inFlight, 1n);
  });

  it("ohpq bounds - a connection with a SUB is never idle", async (t) => {
    const h = harness(t, { ohpq: { idleTimeoutMs: 1_000 } });
    const c = h.connect();
    await c.roundtrip("SUB waiting\n", "OK subscribed\n");
    h.clock.advance(5_000);
    await h.connect().roundtrip("PUB waiting hello\n", "OK\n");
    await c.expect("MESSAGE waiting hello\n");
  });

  it("ohpq bounds - a client that does not read its replies is dropped after the drain timeout", async (t) => {
    const h = harness(t, { ohpq: { drainTimeoutMs: 5_000 } });
    await h.connect().roundtrip(`PUB big ${"z".repeat(64)}\n`, "OK\n");
    const s = stalledConnection(h);
    s.send("GET big\n");
    // The reply is written and stuck: the drain timer runs from here.
    await until(() => s.socket.writableLength > 0, "the GET reply to back up");
    await sleep(10);
    h.clock.advance(4_999);
    await sleep(10);
    assert.equal(s.closed(), false);
    h.clock.advance(1);
    await until(s.closed, "the connection to close");
    assert.equal(h.metrics.errors.get("drain_timeout"), 1);
  });

  it("ohpq bounds - while replies back up, reading stops: a pipeline is not executed ahead of the reader", async (t) => {
    const h = harness(t, { ohpq: { maxPendingLines: 8, drainTimeoutMs: 60_000 } });
    const s = stalledConnection(h);
    s.send("PING\n".repeat(10_000));
    await until(() => (h.metrics.commands.get("PING") ?? 0) > 0, "the first PING to run");
    await sleep(100);
    const executed = h.metrics.commands.get("PING") ?? 0;
    assert.ok(executed > 0 && executed <= 4, `16 bytes of PONGs back up the socket, yet ${executed} PINGs ran`);
    s.socket.destroy();
  });

  it("ohpq bounds - SUBs per connection are capped", async (t) => {
    const h = harness(t, { ohpq: { maxSubscriptions: 2 } });
    const c = h.connect();
    await c.roundtrip("SUB s1\n", "OK subscribed\n");
    await c.roundtrip("SUB s2\n", "OK subscribed\n");
    await c.roundtrip("SUB s2\n", "OK subscribed\n");
    await c.roundtrip("SUB s3\n", "ERROR too many subscriptions\n");
  });

  it("ohpq bounds - a message over the broker's size limit is refused, not stored", async (t) => {
    const h = harness(t, { maxMessageBytes: 100 });
    const c = h.connect();
    await c.roundtrip(`PUB big ${"x".repeat(101)}\n`, "ERROR message too large\n");
    await c.roundtrip(`PUB big ${"x".repeat(100)}\n`, "OK\n");
    await c.roundtrip(`PUB ${"n".repeat(256)} x\n`, "ERROR invalid queue name\n");
  });

  it("ohpq bounds - pipelined PUBs of one queue are one Publish each run, answered one by one in order", async (t) => {
    const publishes: number[] = [];
    const h = harness(t, {
      maxMessageBytes: 100,
      interceptors: [
        (next) => async (req) => {
          if (req.method.name === "Publish")
            publishes.push((req.message as unknown as { messages: unknown[] }).messages.length);
          return next(req);
        },
      ],
    });
    const c = h.connect();
    const run = Array.from({ length: 1500 }, (_, i) => `PUB r m${i}\n`).join("");
    c.send(`${run}PUB other x\nPUB r a\nPUB r ${"x".repeat(101)}\nPUB r b\nPUB r\nPUB r c\n`);
    await c.expect(`${"OK\n".repeat(1502)}ERROR message too large\nOK\nERROR invalid arguments\nOK\n`);
    // The first PUB of a queue is tried again once the queue is made: 1000 twice, then 500 (the
    // limit), other's twice, then a run of three that falls back to one by one, then c.
    assert.deepEqual(publishes, [1000, 1000, 500, 1, 1, 3, 1, 1, 1, 1]);
    assert.equal(h.metrics.commands.get("PUB"), 1506);
    const got = await h.clients.subscriber.pull({ subscription: "r", maxMessages: 1000 });
    assert.deepEqual(
      got.messages.slice(0, 3).map((m) => Buffer.from(m.message?.data ?? []).toString()),
      ["m0", "m1", "m2"],
    );
  });

  it("ohpq bounds - pipelined PUBs into a queue near its limit answer as one-by-one PUBs would", async (t) => {
    const h = harness(t);
    await h.clients.admin.createTopic({ name: "full", queue: true, maxMessages: 2n });
    const c = h.connect();
    await c.roundtrip(
      "PUB full a\nPUB full b\nPUB full c\nPUB full d\n",
      "OK\nOK\nERROR queue full\nERROR queue full\n",
    );
    const got = await h.clients.subscriber.pull({ subscription: "full", maxMessages: 10 });
    assert.deepEqual(
      got.messages.map((m) => Buffer.from(m.message?.data ?? []).toString()),
      ["a", "b"],
    );
  });

  it("ohpq bounds - metrics count connections, commands by name and errors", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip("PING\nNOPE\nGET\nGET q\n", "PONG\nERROR unknown command\nERROR invalid arguments\nEMPTY\n");
    assert.equal(h.metrics.connections, 1);
    assert.equal(h.metrics.commands.get("PING"), 1);
    assert.equal(h.metrics.commands.get("unknown"), 1);
    assert.equal(h.metrics.commands.get("GET"), 2);
    assert.equal(h.metrics.errors.get("GET"), 1);
    assert.equal(h.metrics.errors.get("unknown"), 1);
  });
});
