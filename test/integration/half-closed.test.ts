/**
 * A client that never closes its side keeps no connection once the server has ended its own
 * (issue 16: a slowloris variant). Each listener is given a client that is half-open capable and
 * never ends: after a 408, after an idle HTTP/2 session's GOAWAY, after okQ's QUIT and after an
 * HTTP request that was refused, the server's connection count goes back down.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { HALF_CLOSED_GRACE_MS } from "../../src/server/half-closed.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

function port(s: TestServer, key: string): number {
  return Number((s.addresses[key] as string).split(":").pop());
}

/** Connects half-open capable, reads (so 'end' is seen) but never ends its own side. */
async function stubborn(p: number) {
  const socket = net.connect({ host: "127.0.0.1", port: p, allowHalfOpen: true });
  let received = "";
  let ended = false;
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("end", () => {
    ended = true;
  });
  socket.on("error", () => {});
  await new Promise((r) => socket.once("connect", r));
  return { socket, received: () => received, ended: () => ended };
}

async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("half-closed - a 408'd slowloris, an idle HTTP/2 peer and a QUIT okQ client that never close are dropped", async (t) => {
  const s = await startTestServer({ config: { httpHeadersTimeoutMs: 300, http2IdleTimeoutMs: 300 } });
  t.after(() => s.close());
  // HTTP/1.1: headers never finished → 408, then the server ends its side.
  const slow = await stubborn(port(s, "rpc"));
  slow.socket.write("POST / HTTP/1.1\r\nHost: x\r\n");
  // HTTP/2: the preface and SETTINGS, then silence → GOAWAY when idle.
  const h2 = await stubborn(port(s, "rpc"));
  h2.socket.write(
    Buffer.concat([
      Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
      Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
    ]),
  );
  // okQ: QUIT → +OK, then the server ends its side.
  const quit = await stubborn(port(s, "okq"));
  quit.socket.write("QUIT\r\n");
  // ohpq: QUIT → OK bye, then the server ends its side.
  const bye = await stubborn(port(s, "ohpq"));
  bye.socket.write("QUIT\n");
  await until(() => slow.ended() && h2.ended() && quit.ended() && bye.ended(), "the server to end each connection");
  assert.match(slow.received(), /^HTTP\/1\.1 408 /);
  assert.equal(quit.received(), "+OK\r\n");
  const endedAt = Date.now();
  await until(() => s.server.connections() === 0, `every connection gone (${s.server.connections()} open)`);
  assert.ok(Date.now() - endedAt <= HALF_CLOSED_GRACE_MS + 2_000);
  for (const c of [slow, h2, quit, bye]) c.socket.destroy();
});
