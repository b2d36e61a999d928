/** The okQ session's resource bounds over duplex streams: reply runs, QREGISTER, QNOTIFY waits, signal links. */
import assert from "node:assert/strict";
import { Duplex, PassThrough } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { createOkqHarness } from "../../../test/helpers/okq-harness.js";
import { createFakeClock } from "../../util/index.js";
import type { OkqOptions } from "./index.js";
import { encodeCommand } from "./resp-encoder.js";

function harness(t: TestContext, okq: OkqOptions = {}) {
  const h = createOkqHarness({ clock: createFakeClock(), okq });
  t.after(() => h.close());
  return h;
}

const cmd = (...args: (string | Buffer)[]) => encodeCommand(args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Node 20's AbortSignal.any keeps one entry per linked signal on each source (nodejs/node#55351). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === "kDependantSignals");
  const set = key === undefined ? undefined : (signal as unknown as Record<symbol, { size: number } | undefined>)[key];
  return set?.size ?? 0;
}

describe("okq session bounds", () => {
  it("session - a client that never reads leases only one bounded run of pops, not its whole pipeline", async (t) => {
    // 1000-byte events and 4,000 bytes of replies per run: at most 4 pops per run.
    const h = harness(t, { maxMessageBytes: 1000, maxRunReplyBytes: 4000, drainTimeoutMs: 60_000 });
    const producer = h.connect();
    const n = 200;
    const events = Array.from({ length: n }, (_, i) => cmd("QLPUSH", "big", `e${i}`, Buffer.alloc(1000, 97)));
    producer.send(Buffer.concat(events));
    await producer.expect("+OK\r\n".repeat(n), 30_000);

    const toServer = new PassThrough();
    const fromServer = new PassThrough({ highWaterMark: 16 });
    const socket = Duplex.from({ readable: toServer, writable: fromServer });
    h.bridge.handleConnection(socket);
    toServer.write(Buffer.concat(Array.from({ length: n }, () => cmd("QRPOP", "big", "EX", "600"))));
    const deadline = Date.now() + 5_000;
    let inFlight = 0n;
    while (inFlight === 0n && Date.now() < deadline) {
      await sleep(10);
      inFlight = (await h.clients.admin.getStats({ topics: ["big"] })).subscriptions[0]?.inFlight ?? 0n;
    }
    assert.ok(inFlight > 0n, "the first run is leased");
    await sleep(200); // whatever more the server would lease for this pipeline, it has by now
    inFlight = (await h.clients.admin.getStats({ topics: ["big"] })).subscriptions[0]?.inFlight ?? 0n;
    assert.ok(inFlight <= 40n, `a stalled reader holds a bounded number of leased events, not ${inFlight}`);
    socket.destroy();
  });

  it("session - pipelined pops split into bounded runs still answer in order", async (t) => {
    const h = harness(t, { maxMessageBytes: 1000, maxRunReplyBytes: 3000 });
    const c = h.connect();
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    c.send(Buffer.concat(ids.map((id) => cmd("QLPUSH", "runs", id, "v"))));
    await c.expect("+OK\r\n".repeat(ids.length));
    c.send(Buffer.concat([...ids, "none"].map(() => cmd("QRPOP", "runs"))));
    await c.expect(`${ids.map((id) => `*2\r\n$2\r\n${id}\r\n$1\r\nv\r\n`).join("")}$-1\r\n`);
    assert.equal(h.metrics.commands.get("QRPOP"), ids.length + 1);
  });

  it("session - QREGISTER refuses more queues than the limit; duplicates count once", async (t) => {
    const h = harness(t, { maxRegisteredQueues: 3 });
    const c = h.connect();
    await c.roundtrip(cmd("QREGISTER", "a", "b", "c", "d"), "-ERR too many queues to register: 4 > 3\r\n");
    await c.roundtrip(cmd("QREGISTER", "a", "b", "c", "a", "b"), "+OK\r\n");
    await c.roundtrip(cmd("QSTATUS", "d"), "*1\r\n$37\r\nd total: 0 processing: 0 consumers: 0\r\n");
    await c.roundtrip(cmd("QSTATUS", "a"), "*1\r\n$37\r\na total: 0 processing: 0 consumers: 1\r\n");
    const dflt = harness(t).connect();
    const names = Array.from({ length: 257 }, (_, i) => `q${i}`);
    await dflt.roundtrip(cmd("QREGISTER", ...names), "-ERR too many queues to register: 257 > 256\r\n");
  });

  it("session - QNOTIFY with registered queues answers nil at its timeout", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip(cmd("QREGISTER", "t1", "t2", "t3"), "+OK\r\n");
    await c.roundtrip(cmd("QNOTIFY", "1"), "$-1\r\n");
  });

  it("session - QNOTIFY longer than a Node timer (2^31-1 ms) keeps waiting", async (t) => {
    const h = harness(t);
    const idle = h.connect();
    idle.send(Buffer.concat([cmd("QNOTIFY", "3000000"), cmd("PING")]));
    const waiter = h.connect();
    await waiter.roundtrip(cmd("QREGISTER", "far"), "+OK\r\n");
    waiter.send(cmd("QNOTIFY", "3000000"));
    await sleep(100);
    assert.equal(idle.buffered().length, 0, "no early nil without registered queues");
    assert.equal(waiter.buffered().length, 0, "no early nil with registered queues");
    await h.connect().roundtrip(cmd("QLPUSH", "far", "x", "1"), "+OK\r\n");
    await waiter.expect("$3\r\nfar\r\n");
  });

  it("session - connections and QNOTIFYs leave no link behind on the shutdown signal", async (t) => {
    // The probe reads a Node internal: make sure it sees what AbortSignal.any leaves behind,
    // so a Node without that internal fails here instead of passing without checking anything.
    const calibration = new AbortController();
    AbortSignal.any([calibration.signal]);
    assert.equal(dependants(calibration.signal), 1, "the probe sees AbortSignal.any's reference");
    const h = harness(t);
    for (let i = 0; i < 5; i++) {
      const c = h.connect();
      await c.roundtrip(cmd("QREGISTER", "l1"), "+OK\r\n");
      for (let j = 0; j < 20; j++) await c.roundtrip(cmd("QNOTIFY", "0"), "$-1\r\n");
      c.socket.end();
      await c.closed();
    }
    const deadline = Date.now() + 2_000;
    while (h.bridge.connections() > 0 && Date.now() < deadline) await sleep(5);
    assert.equal(dependants(h.shutdown.signal), 0);
    assert.equal(h.shutdown.signal.aborted, false);
  });
});
