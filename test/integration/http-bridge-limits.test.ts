/**
 * The HTTP bridges' listeners have the RPC port's bounds (issue 16, item 5): each its own
 * connection cap (`--opq-max-connections`, `--restmq-max-connections`,
 * `--gophermq-max-connections`, `--ohpq-http-max-connections`) and the shared HTTP timeouts
 * (`--http-headers-timeout-ms`: a slowloris gets 408 and is closed).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const BRIDGES = ["opq", "restmq", "gophermq", "ohpq-http"] as const;

function port(s: TestServer, key: string): number {
  return Number((s.addresses[key] as string).split(":").pop());
}

async function open(p: number) {
  const socket = net.connect({ host: "127.0.0.1", port: p });
  let received = "";
  let closed = false;
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("close", () => {
    closed = true;
  });
  socket.on("error", () => {});
  await new Promise((r) => socket.once("connect", r));
  return { socket, received: () => received, closed: () => closed };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("http bridge limits - a slowloris on each HTTP bridge gets 408 at --http-headers-timeout-ms", async (t) => {
  const s = await startTestServer({ config: { httpHeadersTimeoutMs: 400 } });
  t.after(() => s.close());
  const slow = await Promise.all(BRIDGES.map((b) => open(port(s, b))));
  for (const c of slow) c.socket.write("POST / HTTP/1.1\r\nHost: x\r\nX-Slow: a");
  await until(() => slow.every((c) => c.closed()), "every slowloris to be closed");
  for (const [i, c] of slow.entries()) assert.match(c.received(), /^HTTP\/1\.1 408 /, BRIDGES[i]);
});

test("http bridge limits - each HTTP bridge closes connections past its own cap", async (t) => {
  const s = await startTestServer({
    config: { opqMaxConnections: 2, restmqMaxConnections: 2, gophermqMaxConnections: 2, ohpqHttpMaxConnections: 2 },
  });
  t.after(() => s.close());
  for (const b of BRIDGES) {
    const kept = [await open(port(s, b)), await open(port(s, b))];
    const refused = await open(port(s, b));
    await until(refused.closed, `${b}: the third connection to be closed`);
    assert.equal(refused.received(), "", `${b}: closed without an answer`);
    // The two within the cap are served.
    kept[0]?.socket.write("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => /^HTTP\/1\.1 \d{3}/.test(kept[0]?.received() ?? ""), `${b}: an answer within the cap`);
    for (const c of kept) c.socket.destroy();
    await until(() => kept.every((c) => c.closed()), `${b}: closed`);
  }
});
