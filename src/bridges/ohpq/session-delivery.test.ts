/**
 * ohpq pending messages are broker leases: redelivery after a disconnect (GET and SUB), SUB
 * paced by ACK, the optional ack timeout, lease renewal while pending, shutdown.
 */
import assert from "node:assert/strict";
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

type H = ReturnType<typeof harness>;

async function publish(h: H, queue: string, ...payloads: string[]): Promise<void> {
  const c = h.connect();
  for (const p of payloads) await c.roundtrip(`PUB ${queue} ${p}\n`, "OK\n");
  c.socket.destroy();
}

async function stats(h: H, queue: string) {
  const s = (await h.clients.admin.getStats({ topics: [queue] })).subscriptions.find((x) => x.name === queue);
  assert.ok(s, `queue ${queue} exists`);
  return s;
}

/** Polls (real time, bounded) until `cond` holds: for effects of a closed socket, which are asynchronous. */
async function eventually(cond: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

describe("ohpq pending messages", () => {
  it("ohpq delivery - a GET's pending message is available again at once when its connection drops, with its delivery count raised", async (t) => {
    const h = harness(t);
    await publish(h, "jobs", "one", "two");
    const first = h.connect();
    await first.roundtrip("GET jobs\n", "MESSAGE jobs one\n");
    const other = h.connect();
    await other.roundtrip("GET jobs\n", "MESSAGE jobs two\n");
    await other.roundtrip("ACK jobs\n", "OK\n");
    await other.roundtrip("GET jobs\n", "EMPTY\n");
    first.socket.destroy();
    // No clock moves: the lease is given back, not left to expire.
    await eventually(async () => (await stats(h, "jobs")).inFlight === 0n, "the lease is given back");
    const pulled = await h.clients.subscriber.pull({ subscription: "jobs", maxMessages: 10 });
    assert.equal(pulled.messages.length, 1);
    assert.equal(Buffer.from(pulled.messages[0]?.message?.data ?? []).toString(), "one");
    assert.equal(pulled.messages[0]?.deliveryAttempt, 2);
  });

  it("ohpq delivery - QUIT gives the connection's pending messages back to every queue", async (t) => {
    const h = harness(t);
    await publish(h, "a", "x");
    await publish(h, "b", "y");
    const c = h.connect();
    await c.roundtrip("GET a\n", "MESSAGE a x\n");
    await c.roundtrip("GET b\n", "MESSAGE b y\n");
    await c.roundtrip("QUIT\n", "OK bye\n");
    await c.closed();
    const next = h.connect();
    await eventually(async () => (await stats(h, "b")).inFlight === 0n, "b's lease is given back");
    await next.roundtrip("GET a\n", "MESSAGE a x\n");
    await next.roundtrip("GET b\n", "MESSAGE b y\n");
  });

  it("ohpq delivery - SUB pushes one message per queue and the next only after ACK", async (t) => {
    const h = harness(t);
    await publish(h, "paced", "m1", "m2", "m3");
    const c = h.connect();
    await c.roundtrip("SUB paced\n", "OK subscribed\nMESSAGE paced m1\n");
    await sleep(30);
    assert.equal(c.buffered().length, 0, "nothing more before the ACK");
    assert.equal((await stats(h, "paced")).inFlight, 1n, "one message leased");
    // Another consumer gets what the subscriber is not holding.
    const other = h.connect();
    await other.roundtrip("GET paced\n", "MESSAGE paced m2\n");
    await c.roundtrip("ACK paced\n", "OK\nMESSAGE paced m3\n");
    await c.roundtrip("ACK paced\n", "OK\n");
    await other.roundtrip("ACK paced\n", "OK\n");
    await sleep(30);
    assert.equal(c.buffered().length, 0);
    await publish(h, "paced", "m4");
    await c.expect("MESSAGE paced m4\n");
    await c.roundtrip("ACK paced\n", "OK\n");
    assert.equal((await stats(h, "paced")).backlog, 0n);
  });

  it("ohpq delivery - SUB and ACK in a loop push every message once, in order, and never into a full slot", async (t) => {
    const warnings: string[] = [];
    const logger = { info() {}, error: (m: string) => warnings.push(m), warn: (m: string) => warnings.push(m) };
    const h = harness(t, { logger });
    const n = 50;
    await h.clients.admin.createTopic({ name: "loop", queue: true });
    await h.clients.publisher.publish({
      topic: "loop",
      messages: Array.from({ length: n }, (_, i) => ({ data: Buffer.from(`m${i}`) })),
    });
    const c = h.connect();
    await c.roundtrip("SUB loop\n", "OK subscribed\nMESSAGE loop m0\n");
    for (let i = 1; i < n; i++) await c.roundtrip("ACK loop\n", `OK\nMESSAGE loop m${i}\n`);
    await c.roundtrip("ACK loop\n", "OK\n");
    await c.roundtrip("GET loop\n", "EMPTY\n");
    assert.deepEqual(warnings, []);
    assert.equal((await stats(h, "loop")).backlog, 0n);
  });

  it("ohpq delivery - when the next message is leased before the ACK's reply is back, OK still comes first", async (t) => {
    // The broker applies the ack, the stream leases the next message, and only then does the
    // ACK's reply arrive: the delivery waits for the slot instead of being pushed or dropped.
    const h = harness(t, {
      interceptors: [
        (next) => async (req) => {
          const res = await next(req);
          if (req.method.name === "Ack") await sleep(30);
          return res;
        },
      ],
    });
    await publish(h, "slowack", "a", "b");
    const c = h.connect();
    await c.roundtrip("SUB slowack\n", "OK subscribed\nMESSAGE slowack a\n");
    await c.roundtrip("ACK slowack\n", "OK\nMESSAGE slowack b\n");
    await c.roundtrip("GET slowack\n", "MESSAGE slowack b\n");
    await c.roundtrip("ACK slowack\n", "OK\n");
    assert.equal((await stats(h, "slowack")).backlog, 0n);
  });

  it("ohpq delivery - a SUB's pending message goes back when its connection drops, and another subscriber gets it", async (t) => {
    const h = harness(t);
    await publish(h, "handover", "job");
    const a = h.connect();
    await a.roundtrip("SUB handover\n", "OK subscribed\nMESSAGE handover job\n");
    const b = h.connect();
    await b.roundtrip("SUB handover\n", "OK subscribed\n");
    a.socket.destroy();
    await b.expect("MESSAGE handover job\n");
    await b.roundtrip("ACK handover\n", "OK\n");
    assert.equal((await stats(h, "handover")).backlog, 0n);
  });

  it("ohpq delivery - SUB after a GET waits for that message's ACK before it pushes", async (t) => {
    const h = harness(t);
    await publish(h, "mixed", "g", "s");
    const c = h.connect();
    await c.roundtrip("GET mixed\n", "MESSAGE mixed g\n");
    await c.roundtrip("SUB mixed\n", "OK subscribed\n");
    await sleep(30);
    assert.equal(c.buffered().length, 0, "the slot is taken by the GET");
    await c.roundtrip("GET mixed\n", "MESSAGE mixed g\n");
    await c.roundtrip("ACK mixed\n", "OK\nMESSAGE mixed s\n");
  });

  it("ohpq delivery - with an ack timeout, an unacked message goes back to its queue at the timeout", async (t) => {
    const h = harness(t, { ohpq: { ackTimeoutMs: 5_000 } });
    await publish(h, "slow", "work");
    const c = h.connect();
    await c.roundtrip("GET slow\n", "MESSAGE slow work\n");
    h.clock.advance(4_999);
    await c.roundtrip("GET slow\n", "MESSAGE slow work\n");
    const other = h.connect();
    await other.roundtrip("GET slow\n", "EMPTY\n");
    h.clock.advance(1);
    await c.roundtrip("ACK slow\n", "ERROR no pending message\n");
    await other.roundtrip("GET slow\n", "MESSAGE slow work\n");
    await other.roundtrip("ACK slow\n", "OK\n");
  });

  it("ohpq delivery - with an ack timeout, SUB pushes a message again after its timeout", async (t) => {
    const h = harness(t, { ohpq: { ackTimeoutMs: 1_000 } });
    await publish(h, "retry", "again");
    const c = h.connect();
    await c.roundtrip("SUB retry\n", "OK subscribed\nMESSAGE retry again\n");
    h.clock.advance(1_000);
    await c.expect("MESSAGE retry again\n");
    await c.roundtrip("ACK retry\n", "OK\n");
    assert.equal((await stats(h, "retry")).backlog, 0n);
  });

  it("ohpq delivery - without an ack timeout a pending message keeps its lease (renewed) for as long as it is pending", async (t) => {
    const h = harness(t, { ohpq: { pendingLeaseMs: 3_000 } });
    await publish(h, "long", "job");
    const c = h.connect();
    const other = h.connect();
    await c.roundtrip("GET long\n", "MESSAGE long job\n");
    await c.roundtrip("SUB long2\n", "OK subscribed\n");
    await publish(h, "long2", "streamed");
    await c.expect("MESSAGE long2 streamed\n");
    for (let i = 0; i < 30; i++) {
      h.clock.advance(1_000); // a renewal every third of the lease
      await sleep(2); // let the renewal calls run
    }
    await other.roundtrip("GET long\n", "EMPTY\n");
    await other.roundtrip("GET long2\n", "EMPTY\n");
    assert.equal((await stats(h, "long")).inFlight, 1n);
    await c.roundtrip("ACK long\n", "OK\n");
    await c.roundtrip("ACK long2\n", "OK\n");
    assert.equal((await stats(h, "long2")).backlog, 0n);
  });

  it("ohpq delivery - shutdown answers what was read, gives pending messages back and closes", async (t) => {
    const h = harness(t);
    await publish(h, "sd", "held");
    const c = h.connect();
    await c.roundtrip("GET sd\n", "MESSAGE sd held\n");
    h.shutdown.abort();
    await c.closed();
    await eventually(async () => (await stats(h, "sd")).inFlight === 0n, "the lease is given back");
  });

  it("ohpq delivery - ACK of a message that was purged meanwhile is OK; the slot is then empty", async (t) => {
    const h = harness(t);
    await publish(h, "purged", "gone");
    const c = h.connect();
    await c.roundtrip("GET purged\n", "MESSAGE purged gone\n");
    await h.clients.admin.purgeTopic({ name: "purged" });
    await c.roundtrip("ACK purged\n", "OK\n");
    await c.roundtrip("ACK purged\n", "ERROR no pending message\n");
  });
});
