/**
 * Bounds of the TCP bridges on real sockets (issue 16, items 5 and 6): connection caps with the
 * dialect's refusal, refused and finished connections that cannot linger half-open, the okQ idle
 * timeout from its flag, and an HTTP request sent to the okQ port.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

function port(s: TestServer, key: string): number {
  return Number((s.addresses[key] as string).split(":").pop());
}

/** A raw client that keeps everything it receives; half-open capable, so it never ends its side by itself. */
async function connect(p: number) {
  const socket = net.connect({ host: "127.0.0.1", port: p, allowHalfOpen: true });
  let received = "";
  let closed = false;
  let ended = false;
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("end", () => {
    ended = true;
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return {
    socket,
    received: () => received,
    /** The server ended or closed the connection. */
    serverGone: () => ended || closed,
  };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("tcp limits - okQ past --okq-max-connections: '-ERR max number of clients reached', closed, slot reused", async (t) => {
  const s = await startTestServer({ config: { okqMaxConnections: 2 } });
  t.after(() => s.close());
  const a = await connect(port(s, "okq"));
  const b = await connect(port(s, "okq"));
  a.socket.write("PING\r\n");
  b.socket.write("PING\r\n");
  await until(() => a.received() === "+PONG\r\n" && b.received() === "+PONG\r\n", "both PONGs");
  const refused = await connect(port(s, "okq"));
  await until(refused.serverGone, "the refused connection to be closed");
  assert.equal(refused.received(), "-ERR max number of clients reached\r\n");
  // The refused client never closes its side: the server does not keep it anyway.
  await until(() => s.server.connections() === 2, "two connections left");
  refused.socket.destroy();
  a.socket.destroy();
  await until(() => s.server.connections() === 1, "one connection left");
  const c = await connect(port(s, "okq"));
  c.socket.write("PING\r\n");
  await until(() => c.received() === "+PONG\r\n", "a PONG on the freed slot");
  b.socket.destroy();
  c.socket.destroy();
});

test("tcp limits - ohpq past --ohpq-max-connections: refused, and not kept half-open by a client that never closes", async (t) => {
  const s = await startTestServer({ config: { ohpqMaxConnections: 1 } });
  t.after(() => s.close());
  const a = await connect(port(s, "ohpq"));
  const refused = await connect(port(s, "ohpq"));
  await until(refused.serverGone, "the refused connection to be closed");
  assert.equal(refused.received(), "ERROR too many connections\n");
  await until(() => s.server.connections() === 1, "the refused socket to be gone on the server");
  refused.socket.destroy();
  a.socket.destroy();
});

test("tcp limits - okQ --okq-idle-timeout-ms closes a silent connection without a reply", async (t) => {
  const s = await startTestServer({ config: { okqIdleTimeoutMs: 300 } });
  t.after(() => s.close());
  const idle = await connect(port(s, "okq"));
  const started = Date.now();
  await until(() => s.server.connections() === 0, "the idle connection to be closed", 5_000);
  assert.ok(Date.now() - started >= 250, "not before its timeout");
  await until(idle.serverGone, "the client to see the close");
  assert.equal(idle.received(), "");
  idle.socket.destroy();
});

test("tcp limits - an HTTP POST to the okQ port (a form or webhook carrying QFLUSH) runs nothing", async (t) => {
  const s = await startTestServer();
  t.after(() => s.close());
  const producer = await connect(port(s, "okq"));
  producer.socket.write("QLPUSH orders o1 pay\r\n");
  await until(() => producer.received() === "+OK\r\n", "+OK");
  // What a browser form or a webhook sends: one HTTP request, commands in its body.
  const body = "QFLUSH orders\r\n*2\r\n$6\r\nQFLUSH\r\n$6\r\norders\r\n";
  const attacker = await connect(port(s, "okq"));
  attacker.socket.write(
    `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  await until(attacker.serverGone, "the attacker's connection to be closed");
  assert.equal(attacker.received(), "", "no reply at all");
  attacker.socket.destroy();
  // fetch() gets no HTTP answer either.
  await assert.rejects(
    fetch(`http://127.0.0.1:${port(s, "okq")}/`, { method: "POST", body }),
    "the connection closes without an HTTP answer",
  );
  producer.socket.write("QSTATUS orders\r\n");
  await until(() => producer.received().includes("total"), "QSTATUS");
  assert.equal(producer.received(), "+OK\r\n*1\r\n$42\r\norders total: 1 processing: 0 consumers: 0\r\n");
  producer.socket.destroy();
});
