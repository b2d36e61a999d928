/**
 * The HTTP bridges against clients that misbehave on real sockets (issue 16): a client that
 * goes away in the middle of its body is nobody's failure: no error is logged.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import type { Logger } from "../../src/util/index.js";
import { startTestServer } from "../helpers/start-test-server.js";

function recordingLogger(errors: string[]): Logger {
  return {
    info() {},
    warn() {},
    error: (message: string) => {
      errors.push(message);
    },
  } as unknown as Logger;
}

function port(address: string): number {
  return Number(address.split(":").pop());
}

test("http bridges - an OPQ push whose client disconnects mid-body logs no error", async (t) => {
  const errors: string[] = [];
  const s = await startTestServer({ logger: recordingLogger(errors) });
  t.after(() => s.close());
  const socket = net.connect({ host: "127.0.0.1", port: port(s.addresses.opq as string) });
  await new Promise((r) => socket.once("connect", r));
  socket.write(
    "POST /opq/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ntopic=t&url=",
  );
  await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(errors, []);
});

test("http bridges - a RestMQ or GopherMQ post whose client disconnects mid-body logs no error", async (t) => {
  const errors: string[] = [];
  const s = await startTestServer({ logger: recordingLogger(errors) });
  t.after(() => s.close());
  for (const [key, head] of [
    ["restmq", "POST /q/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"],
    ["gophermq", "POST /api/publish HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"],
  ] as const) {
    const socket = net.connect({ host: "127.0.0.1", port: port(s.addresses[key] as string) });
    await new Promise((r) => socket.once("connect", r));
    socket.write(`${head}\r\nContent-Length: 100\r\n\r\nvalue=`);
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(errors, []);
});
