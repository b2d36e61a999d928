/** The okQ session over duplexPair (no ports): transcripts, RESP3, limits, backpressure, metrics. */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { createOkqHarness } from "../../../test/helpers/okq-harness.js";
import { parseTranscript, replayTranscript } from "../../../test/helpers/transcript.js";
import { createFakeClock } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import type { OkqOptions } from "./index.js";
import { encodeCommand } from "./resp-encoder.js";

const TRANSCRIPTS = new URL("../../../test/transcripts/okq/", import.meta.url).pathname;

function harness(t: TestContext, okq: OkqOptions = {}, clock = createFakeClock()) {
  const h = createOkqHarness({ clock, okq });
  t.after(() => h.close());
  return { ...h, clock };
}

const cmd = (...args: (string | Buffer)[]) => encodeCommand(args);

describe("okq session", () => {
  for (const file of readdirSync(TRANSCRIPTS).filter((f) => f.endsWith(".txt"))) {
    const steps = parseTranscript(join(TRANSCRIPTS, file));
    it(`session - transcript ${file} (whole)`, async (t) => {
      const h = harness(t);
      await replayTranscript(h.connect(), steps);
    });
    it(`session - transcript ${file} (byte by byte)`, async (t) => {
      const h = harness(t);
      await replayTranscript(h.connect(), steps, { byteByByte: true });
    });
  }

  it("session - a pipelined transcript gives the same bytes as one sent step by step", async (t) => {
    const h = harness(t);
    const steps = parseTranscript(join(TRANSCRIPTS, "push-pop-ack.txt"));
    const c = h.connect();
    const sends = steps.flatMap((s) => ("send" in s ? [s.send] : []));
    const expects = steps.flatMap((s) => ("expect" in s ? [s.expect] : []));
    c.send(Buffer.concat(sends));
    await c.expect(Buffer.concat(expects));
  });

  it("session - pipelined QRPOPs and QACKs answer exactly as one by one (one Pull, one Ack)", async (t) => {
    const h = harness(t);
    const c = h.connect();
    const ev = (id: string) => `*2\r\n$${id.length}\r\n${id}\r\n$1\r\nv\r\n`;
    c.send(
      Buffer.concat([
        ...["e1", "e2", "e3", "e4", "e5"].map((id) => cmd("QLPUSH", "pq", id, "v")),
        ...Array.from({ length: 7 }, () => cmd("QRPOP", "pq")),
        cmd("QACK", "pq", "e1"),
        cmd("QACK", "pq", "nope"),
        cmd("QACK", "pq", "e3"),
        cmd("QACK", "pq", "e1"),
        cmd("QACK", "other", "e2"),
        cmd("QACK", "pq", "e2"),
        cmd("QRPOP", "pq", "EX", "0"),
        cmd("QRPOP", "pq", "EX", "0"),
      ]),
    );
    await c.expect(
      `${"+OK\r\n".repeat(5)}${["e1", "e2", "e3", "e4", "e5"].map(ev).join("")}$-1\r\n$-1\r\n` +
        ":1\r\n:0\r\n:1\r\n:0\r\n:0\r\n:1\r\n$-1\r\n$-1\r\n",
    );
    const stats = await h.clients.admin.getStats({ topics: ["pq"] });
    assert.equal(stats.subscriptions[0]?.backlog, 2n, "e4 and e5 are still leased");
    assert.equal(h.metrics.commands.get("QRPOP"), 9);
    assert.equal(h.metrics.commands.get("QACK"), 6);
  });

  it("session - NOBLOCK answers +OK at once, pushes in the background, and is bounded", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip(cmd("QLPUSH", "nb", "a", "1", "NOBLOCK"), "+OK\r\n");
    await c.roundtrip(cmd("QRPUSH", "nb", "a", "dup", "noblock"), "+OK\r\n");
    const deadline = Date.now() + 2_000;
    while ((h.metrics.errors.get("QRPUSH") ?? 0) === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.metrics.errors.get("QRPUSH"), 1, "the background duplicate is counted, not answered");
    await c.roundtrip(cmd("QRPOP", "nb"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    const busy = harness(t, { maxNoblockInFlight: 0 });
    await busy
      .connect()
      .roundtrip(cmd("QLPUSH", "nb", "b", "2", "NOBLOCK"), "-ERR too busy to process NOBLOCK event\r\n");
  });

  it("session - an expired lease is redelivered at its deadline, at the front", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip(cmd("QLPUSH", "q", "a", "1"), "+OK\r\n");
    await c.roundtrip(cmd("QLPUSH", "q", "b", "2"), "+OK\r\n");
    await c.roundtrip(cmd("QRPOP", "q", "EX", "5"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    h.clock.advance(4_999);
    await c.roundtrip(cmd("QRPEEK", "q"), "*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    h.clock.advance(1);
    await c.roundtrip(cmd("QRPEEK", "q"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    await c.roundtrip(cmd("QRPOP", "q"), "*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  });

  it("session - HELLO 3 switches to RESP3 (null is _) and HELLO 2 back", async (t) => {
    const h = harness(t);
    const c = h.connect();
    const hello = (proto: number, map: string) =>
      `${map}$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:${proto}\r\n$2\r\nid\r\n:1\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n`;
    await c.roundtrip(cmd("HELLO", "3"), hello(3, "%7\r\n"));
    await c.roundtrip(cmd("QRPOP", "empty"), "_\r\n");
    await c.roundtrip(cmd("CONFIG", "GET", "save"), "%0\r\n");
    await c.roundtrip(cmd("HELLO", "2", "SETNAME", "me"), hello(2, "*14\r\n"));
    await c.roundtrip(cmd("QRPOP", "empty"), "$-1\r\n");
    await c.roundtrip(cmd("CLIENT", "GETNAME"), "$2\r\nme\r\n");
    await c.roundtrip(
      cmd("HELLO", "3", "AUTH", "bob", "x"),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
  });

  it("session - INFO is a bulk string with loading:0", async (t) => {
    const h = harness(t);
    const c = h.connect();
    c.send(cmd("INFO"));
    await c.expect("$");
    await new Promise((r) => setTimeout(r, 50));
    const text = c.buffered().toString();
    const [len, ...rest] = text.split("\r\n");
    const body = rest.join("\r\n");
    assert.equal(Buffer.byteLength(body), Number(len) + 2);
    assert.match(body, /\r\nloading:0\r\n/);
    assert.match(body, /^# Server\r\nredis_version:/);
  });

  it("session - QSTATUS nested form by option, and QINFO aligns its columns", async (t) => {
    const h = harness(t, { qstatusFormat: "nested" });
    const c = h.connect();
    await c.roundtrip(cmd("QLPUSH", "bb", "1", "x"), "+OK\r\n");
    for (let i = 0; i < 10; i++) await c.roundtrip(cmd("QLPUSH", "a", `e${i}`, "x"), "+OK\r\n");
    await c.roundtrip(cmd("QRPOP", "a"), "*2\r\n$2\r\ne0\r\n$1\r\nx\r\n");
    const other = h.connect();
    await other.roundtrip(cmd("QREGISTER", "a", "zz"), "+OK\r\n");
    await c.roundtrip(
      cmd("QSTATUS"),
      "*3\r\n*4\r\n$1\r\na\r\n:10\r\n:1\r\n:1\r\n*4\r\n$2\r\nbb\r\n:1\r\n:0\r\n:0\r\n*4\r\n$2\r\nzz\r\n:0\r\n:0\r\n:1\r\n",
    );
    const lines = ["a   total: 10  processing: 1  consumers: 1", "bb  total: 1   processing: 0  consumers: 0"];
    await c.roundtrip(cmd("QINFO", "a", "bb"), `*2\r\n${lines.map((l) => `$${l.length}\r\n${l}\r\n`).join("")}`);
    await other.roundtrip(cmd("QREGISTER"), "+OK\r\n");
    await c.roundtrip(cmd("QSTATUS", "zz"), "*1\r\n*4\r\n$2\r\nzz\r\n:0\r\n:0\r\n:0\r\n");
  });

  it("session - QNOTIFY answers at once when a registered queue has events, else when one gets one", async (t) => {
    const h = harness(t);
    const consumer = h.connect();
    const producer = h.connect();
    await consumer.roundtrip(cmd("QREGISTER", "n1", "n2"), "+OK\r\n");
    await producer.roundtrip(cmd("QLPUSH", "n2", "x", "1"), "+OK\r\n");
    await consumer.roundtrip(cmd("QNOTIFY", "30"), "$2\r\nn2\r\n");
    await producer.roundtrip(cmd("QRPOP", "n2", "EX", "0"), "*2\r\n$1\r\nx\r\n$1\r\n1\r\n");
    consumer.send(cmd("QNOTIFY", "30"));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(consumer.buffered().length, 0, "nothing to report yet");
    await producer.roundtrip(cmd("QLPUSH", "n1", "y", "2"), "+OK\r\n");
    await consumer.expect("$2\r\nn1\r\n");
    await consumer.roundtrip(cmd("QREGISTER"), "+OK\r\n");
    await consumer.roundtrip(cmd("QNOTIFY", "0"), "$-1\r\n");
  });

  it("session - a bulk string over the limit closes the connection after the error", async (t) => {
    const h = harness(t, { maxMessageBytes: 1000 });
    const c = h.connect();
    c.send(`*4\r\n$6\r\nQLPUSH\r\n$1\r\nq\r\n$1\r\ni\r\n$${1000 + 64 * 1024 + 1}\r\n`);
    await c.expect("-ERR Protocol error: invalid bulk length\r\n");
    await c.closed();
    assert.equal(h.metrics.errors.get("protocol"), 1);
  });

  it("session - an event over the message size limit gets an error and the connection stays", async (t) => {
    const h = harness(t, { maxMessageBytes: 1000 });
    const c = h.connect();
    c.send(Buffer.concat([cmd("QLPUSH", "q", "big", Buffer.alloc(1001)), cmd("PING")]));
    await c.expect("-ERR ");
    const deadline = Date.now() + 2_000;
    while (!c.buffered().toString().endsWith("+PONG\r\n") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.match(c.buffered().toString(), /^[^\r\n]*1000[^\r\n]*\r\n\+PONG\r\n$/);
  });

  it("session - 10,000 pipelined pushes are all answered, in order, and all stored", async (t) => {
    const h = harness(t);
    const c = h.connect();
    const n = 10_000;
    c.send(Buffer.concat(Array.from({ length: n }, (_, i) => cmd("QLPUSH", "bulk", `id${i}`, `v${i}`))));
    c.send(cmd("QLPUSH", "bulk", "id5", "dup"));
    await c.expect(`${"+OK\r\n".repeat(n)}-ERR duplicate event id5\r\n`, 60_000);
    const stats = await h.clients.admin.getStats({ topics: ["bulk"] });
    assert.equal(stats.subscriptions[0]?.backlog, BigInt(n));
    assert.equal(h.metrics.commands.get("QLPUSH"), n + 1);
    await c.roundtrip(cmd("QRPOP", "bulk"), "*2\r\n$3\r\nid0\r\n$2\r\nv0\r\n");
  });

  it("session - reading stops while too many commands wait, and resumes", async (t) => {
    const h = harness(t, { maxPendingCommands: 4 });
    const c = h.connect();
    await c.roundtrip(cmd("QREGISTER", "w"), "+OK\r\n");
    // A blocking QNOTIFY holds the connection; the pipelined pings behind it pile up.
    c.send(Buffer.concat([cmd("QNOTIFY", "30"), ...Array.from({ length: 20 }, () => cmd("PING"))]));
    await new Promise((r) => setTimeout(r, 30));
    const producer = h.connect();
    await producer.roundtrip(cmd("QLPUSH", "w", "x", "1"), "+OK\r\n");
    await c.expect(`$1\r\nw\r\n${"+PONG\r\n".repeat(20)}`);
  });

  it("session - a client that never reads its replies is dropped after the drain timeout", async (t) => {
    const h = harness(t, { drainTimeoutMs: 50 });
    const toServer = new PassThrough();
    const fromServer = new PassThrough({ highWaterMark: 16 });
    const { Duplex } = await import("node:stream");
    const socket = Duplex.from({ readable: toServer, writable: fromServer });
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    h.bridge.handleConnection(socket);
    toServer.write(cmd("ECHO", "x".repeat(100_000)));
    const deadline = Date.now() + 5_000;
    // The drain wait runs on the injected clock: time moves only here.
    while (!closed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      h.clock.advance(10);
    }
    assert.equal(closed, true);
    assert.equal(h.metrics.errors.get("drain_timeout"), 1);
  });

  it("session - AUTH with an authenticator gates commands behind NOAUTH", async (t) => {
    let alice: BrokerClients | undefined;
    const h = harness(t, {
      authenticator: { login: async (u, p) => (u === "alice" && p === "pw" ? alice : undefined) },
    });
    alice = h.clients;
    const c = h.connect();
    await c.roundtrip(cmd("QRPOP", "q"), "-NOAUTH Authentication required.\r\n");
    await c.roundtrip(cmd("AUTH", "wrong"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    await c.roundtrip(cmd("AUTH", "alice", "pw"), "+OK\r\n");
    await c.roundtrip(cmd("QRPOP", "q"), "$-1\r\n");
  });

  it("session - shutdown answers queued commands with an error and closes idle connections", async (t) => {
    const h = harness(t);
    const idle = h.connect();
    const busy = h.connect();
    await busy.roundtrip(cmd("QREGISTER", "s"), "+OK\r\n");
    busy.send(Buffer.concat([cmd("QNOTIFY", "30"), cmd("PING")]));
    await new Promise((r) => setTimeout(r, 20));
    h.shutdown.abort();
    await idle.closed();
    await busy.expect("$-1\r\n-ERR server is shutting down\r\n");
    await busy.closed();
  });

  it("session - metrics count connections, commands by name and errors", async (t) => {
    const h = harness(t);
    const c = h.connect();
    await c.roundtrip(cmd("PING"), "+PONG\r\n");
    await c.roundtrip(cmd("NOPE"), '-ERR unknown command "NOPE"\r\n');
    assert.equal(h.metrics.connections, 1);
    assert.equal(h.metrics.commands.get("PING"), 1);
    assert.equal(h.metrics.commands.get("unknown"), 1);
    assert.equal(h.metrics.errors.get("unknown"), 1);
    c.socket.end();
    await c.closed();
    const deadline = Date.now() + 2_000;
    while (h.bridge.connections() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.bridge.connections(), 0);
    assert.equal(h.metrics.connections as number, 0);
  });
});
