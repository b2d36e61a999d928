/**
 * The okQ session against hostile clients (issue 16, items 5 and 6): empty arguments that cost
 * heap but no bytes, HTTP requests sent to the RESP port, and connections left idle.
 */
import assert from "node:assert/strict";
import { duplexPair } from "node:stream";
import { describe, it, type TestContext } from "node:test";
import { createOkqHarness, rawClient } from "../../../test/helpers/okq-harness.js";
import { createFakeClock, type FakeClock } from "../../util/index.js";
import type { OkqOptions } from "./index.js";
import { encodeCommand } from "./resp-encoder.js";

function harness(t: TestContext, okq: OkqOptions = {}, clock: FakeClock = createFakeClock()) {
  const h = createOkqHarness({ clock, okq: { clock, ...okq } });
  t.after(() => h.close());
  return { ...h, clock };
}

/**
 * A connection whose server side is visible: over duplexPair, the server destroying its side
 * does not reach the client side, so "closed by the server" is read there.
 */
function connect(h: ReturnType<typeof harness>) {
  const [client, server] = duplexPair();
  h.bridge.handleConnection(server);
  const c = rawClient(client);
  return {
    ...c,
    server,
    /** The server closed (destroyed) or ended its side of the connection. */
    closed: () => until(() => server.destroyed || server.writableEnded, "the server to close the connection", 5_000),
    destroy: () => client.destroy(),
  };
}

const cmd = (...args: (string | Buffer)[]) => encodeCommand(args);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const emptyArgs = (n: number) => Buffer.from(`*${n}\r\n${"$0\r\n\r\n".repeat(n)}`);

/** Waits until `cond` holds (polling every 5 ms), failing after `timeoutMs`. */
async function until(cond: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe("okq session against hostile clients", () => {
  it("session - empty arguments count against maxPendingBytes: reading stops behind a blocked QNOTIFY", async (t) => {
    // 64 KiB of pending input; each command has 1,000 empty arguments (6 KB on the wire).
    const h = harness(t, { maxPendingBytes: 64 * 1024, maxPendingCommands: 1024 });
    const [client, server] = duplexPair();
    let consumed = 0;
    server.on("data", (chunk: Buffer) => {
      consumed += chunk.length;
    });
    h.bridge.handleConnection(server);
    client.on("error", () => {});
    client.write(cmd("QNOTIFY", "30")); // blocks: everything after it waits in the session
    const command = emptyArgs(1000);
    for (let i = 0; i < 200; i++) client.write(command);
    await sleep(200);
    // 1,000 arguments count ≥ 128 KiB, over the 64 KiB bound at once: the session reads a
    // chunk or two past the first such command, not the 200 commands (1.2 MB, ~40 MB of heap).
    assert.ok(consumed < 4 * command.length, `the session read ${consumed} bytes behind a blocked command`);
    client.destroy();
  });

  it("session - the bridge-wide read-ahead bound: blocked connections hold at most the total; others still run", async (t) => {
    // Each connection alone may read 4 MiB ahead; together only 256 KiB (+ one 16 KiB slice each).
    const h = harness(t, { maxPendingBytes: 4 * 1024 * 1024, maxPendingBytesTotal: 256 * 1024 });
    const command = cmd("QLPUSH", "held", "e", Buffer.alloc(1000, 97));
    const blocked = Array.from({ length: 3 }, () => {
      const [client, server] = duplexPair();
      client.on("error", () => {});
      let consumed = 0;
      server.on("data", (chunk: Buffer) => {
        consumed += chunk.length;
      });
      h.bridge.handleConnection(server);
      client.write(cmd("QNOTIFY", "30"));
      // 2 MB each, in 64 KiB writes (a socket's read size).
      const burst = Buffer.concat(Array.from({ length: 64 }, () => command));
      for (let i = 0; i < 32; i++) client.write(burst);
      return { client, consumed: () => consumed };
    });
    await sleep(300);
    const total = blocked.reduce((n, b) => n + b.consumed(), 0);
    // Arguments count their bytes plus 256 each: 1,000-byte events weigh ~2 KB a command.
    assert.ok(total < 256 * 1024 + 3 * 80 * 1024, `blocked connections read ${total} bytes in all`);
    const free = connect(h);
    await free.roundtrip(cmd("PING"), "+PONG\r\n");
    await free.roundtrip(cmd("QLPUSH", "other", "x", "1"), "+OK\r\n");
    for (const b of blocked) b.client.destroy();
    free.destroy();
  });

  it("session - a command of 65,536 empty arguments is refused and the connection closed", async (t) => {
    const h = harness(t);
    const c = connect(h);
    c.send(emptyArgs(65_536));
    await c.expect("-ERR Protocol error: command too large\r\n");
    await c.closed();
  });

  it("session - an HTTP POST whose body holds commands runs none of them and gets no reply", async (t) => {
    const h = harness(t);
    const producer = h.connect();
    await producer.roundtrip(cmd("QLPUSH", "orders", "o1", "pay"), "+OK\r\n");
    const body = "QFLUSH orders\r\n*2\r\n$6\r\nQFLUSH\r\n$6\r\norders\r\n";
    const attacker = connect(h);
    attacker.send(
      `POST / HTTP/1.1\r\nHost: 127.0.0.1:4777\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await attacker.closed();
    assert.equal(attacker.buffered().length, 0, "no reply at all");
    await producer.roundtrip(cmd("QSTATUS", "orders"), "*1\r\n$42\r\norders total: 1 processing: 0 consumers: 0\r\n");
    assert.equal(h.metrics.errors.get("cross_protocol"), 1);
  });

  it("session - a Host: header line, a GET request line and a RESP POST command all close the connection", async (t) => {
    const h = harness(t);
    for (const attack of [
      "Host: evil.example\r\nPING\r\n",
      "GET /QFLUSH%20orders HTTP/1.1\r\nPING\r\n",
      Buffer.concat([cmd("POST", "/"), cmd("PING")]),
      Buffer.concat([cmd("host:", "x"), cmd("PING")]),
    ]) {
      const c = connect(h);
      c.send(attack);
      await c.closed();
      assert.equal(c.buffered().length, 0, `no reply to ${JSON.stringify(attack.toString())}`);
    }
    // Commands before the attack in the same connection still ran; a plain inline PING still works.
    const ok = h.connect();
    await ok.roundtrip("PING\r\n", "+PONG\r\n");
  });

  it("session - an idle connection is closed after idleTimeoutMs without a reply; input keeps it open", async (t) => {
    const h = harness(t, { idleTimeoutMs: 10_000 });
    const idle = connect(h);
    const busy = connect(h);
    h.clock.advance(6_000);
    await busy.roundtrip(cmd("PING"), "+PONG\r\n");
    h.clock.advance(6_000);
    await idle.closed();
    assert.equal(idle.buffered().length, 0, "closed silently (an unsolicited error would read as a reply)");
    assert.equal(busy.server.destroyed, false, "input 6 s ago: still open");
    await busy.roundtrip(cmd("PING"), "+PONG\r\n");
    assert.equal(h.metrics.errors.get("idle_timeout"), 1);
  });

  it("session - a blocked QNOTIFY is not idle; a connection ended by the server but kept open by its client goes", async (t) => {
    const h = harness(t, { idleTimeoutMs: 1_000 });
    const waiter = connect(h);
    waiter.send(cmd("QNOTIFY", "2"));
    await sleep(20);
    h.clock.advance(5_000);
    await sleep(20);
    assert.equal(waiter.server.destroyed, false, "a waiting command keeps the connection");
    await waiter.expect("$-1\r\n", 5_000);
    h.clock.advance(1_000);
    await waiter.closed();

    // QUIT ends the server's side; a client that never closes its own is closed at the idle timeout.
    const [client, server] = duplexPair();
    h.bridge.handleConnection(server);
    const quitter = rawClient(client);
    await quitter.roundtrip(cmd("QUIT"), "+OK\r\n");
    await until(() => server.writableEnded, "the server to end its side");
    assert.equal(server.destroyed, false);
    h.clock.advance(1_000);
    await until(() => server.destroyed, "the half-closed connection to go");
    client.destroy();
  });
});
