/**
 * Hostile clients on every bridge's own transport (the real server, startTestServer, real TCP):
 * the HTTP/1.1 bridges (OPQ push, RestMQ add/get and its comet and websocket consumers, GopherMQ
 * publish/subscribe/fetch) and the TCP ones (ohpq, okQ: producers, consumers, long-polls) while
 * messages flow. Each request is cut: the socket destroyed or reset (RST) after a partial
 * request, half-closed after a partial or whole request, or destroyed, reset or ended once the
 * answer started. After every case: no uncaught exception or unhandled rejection, nothing logged
 * as an error, every connection released, no consumer left attached, and the bridge still
 * answers a normal request.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { startTestServer } from "../helpers/start-test-server.js";
import type { Fuzzer } from "./fuzz-kit.js";
import { eventually, hostileTarget, sleep, watchHostile } from "./hostile-kit.js";

/** How long a case waits for an answer before it cuts anyway. */
const ANSWER_WAIT_MS = 40;

const resp = (...args: string[]) =>
  Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
const http = (method: string, path: string, body = "", type = "application/x-www-form-urlencoded") =>
  Buffer.from(
    `${method} ${path} HTTP/1.1\r\nHost: x\r\n` +
      (body ? `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` : "") +
      `\r\n${body}`,
  );
const json = (o: unknown) => JSON.stringify(o);

/** Every request a case can send, by bridge listener: `q` is the case's queue, `data` its payload. */
const REQUESTS: Record<string, (q: string, data: string) => Buffer> = {
  "opq push": (q, d) =>
    http("POST", "/opq/push", `topic=${q}&url=${encodeURIComponent("http://127.0.0.1:9/hook")}&message=${d}`),
  "restmq add": (q, d) => http("POST", `/q/${q}`, `value=${d}`),
  "restmq get": (q) => http("GET", `/q/${q}`),
  "restmq comet": (q) => http("GET", `/c/${q}`),
  "restmq websocket": (q) =>
    Buffer.from(
      `GET /ws/${q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    ),
  "gophermq publish": (q, d) => http("POST", "/api/publish", json({ subject: q, data: d }), "application/json"),
  "gophermq subscribe": (q) => http("POST", "/api/subscribe", json({ subject: q }), "application/json"),
  "gophermq fetch": (q) => http("POST", "/api/fetch", json({ subject: q, id: "x" }), "application/json"),
  "ohpq pub": (q, d) => Buffer.from(`PUB ${q} ${d}\n`),
  "ohpq get": (q) => Buffer.from(`GET ${q}\n`),
  "ohpq sub": (q) => Buffer.from(`SUB ${q}\n`),
  "okq push": (q, d) => resp("QLPUSH", q, `id-${d.length}`, d),
  "okq pop": (q) => resp("QRPOP", q),
  "okq notify": (q) => Buffer.concat([resp("QREGISTER", q), resp("QNOTIFY", "1")]),
};
/** A normal request per listener and the start of its answer. */
const HEALTHY: Record<string, { request: Buffer; answer: string }> = {
  opq: { request: http("GET", "/opq/nope"), answer: "HTTP/1.1 404" },
  restmq: { request: http("GET", "/q/healthy"), answer: "HTTP/1.1 " },
  gophermq: { request: http("GET", "/ready"), answer: "HTTP/1.1 2" },
  ohpq: { request: Buffer.from("PING\n"), answer: "" },
  okq: { request: resp("PING"), answer: "+PONG" },
};

const hostileCase = fc.record({
  request: fc.constantFrom(...Object.keys(REQUESTS)),
  /** Where the request is cut, as a fraction of its bytes (1: all of it). */
  at: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
  cut: fc.constantFrom(
    "destroy",
    "reset",
    "half-close",
    "destroy-after-answer",
    "reset-after-answer",
    "end-after-answer",
  ),
  /** Messages published to the queue (over RPC) before and while the request runs. */
  flowing: fc.integer({ min: 0, max: 24 }),
  /** The request sent this many times back to back (pipelined), then these bytes (junk, frames). */
  repeat: fc.integer({ min: 1, max: 2 }),
  trailer: fc.oneof(fc.constant(new Uint8Array()), fc.uint8Array({ maxLength: 16 })),
  /** The client stops reading once the answer starts (the server's writes back up). */
  stall: fc.boolean(),
  bytes: fc.integer({ min: 1, max: 3_000 }),
  /** Bytes split into separate writes. */
  pieces: fc.integer({ min: 1, max: 3 }),
});

export const bridgeHostileFuzzer: Fuzzer = {
  name: "bridge-hostile",
  description:
    "hostile clients on every bridge's own transport (OPQ, RestMQ incl. comet and websocket, GopherMQ, ohpq, okQ): " +
    "requests cut by destroy, reset or half-close mid-request or once answered, while messages flow; no uncaught " +
    "exception, no error logged, no connection or consumer left, and the bridge answers the next request",
  async start() {
    const { logger, faults, assertClean } = watchHostile();
    const s = await startTestServer({ logger, config: { opqMaxAttempts: 1, opqTimeoutMs: 50 } });
    const transport = createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1" });
    const admin = createClient(AdminService, transport);
    const publisher = createClient(PublisherService, transport);
    const address = (listener: string) => {
      const a = s.addresses[listener] as string;
      const i = a.lastIndexOf(":");
      return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
    };
    const open = (listener: string) =>
      new Promise<net.Socket>((resolve, reject) => {
        const { host, port } = address(listener);
        const socket = net.connect(port, host, () => resolve(socket));
        socket.once("error", reject);
      });
    let n = 0;

    const property = fc.asyncProperty(hostileCase, async (c) => {
      const queue = `bh${n++}`;
      const listener = c.request.slice(0, c.request.indexOf(" "));
      const data = "d".repeat(c.bytes);
      const one = (REQUESTS[c.request] as (q: string, d: string) => Buffer)(queue, data);
      const raw = Buffer.concat([...Array.from({ length: c.repeat }, () => one), c.trailer]);
      const flow = async (count: number) => {
        for (let i = 0; i < count; i++)
          await publisher.publish({ topic: queue, messages: [{ data: Buffer.from(data) }] }).catch(() => {});
      };
      await flow(c.flowing >> 1);
      const socket = await open(listener);
      socket.on("error", () => {});
      const closed = new Promise<void>((r) => socket.once("close", () => r()));
      const answer = new Promise<void>((r) =>
        socket.once("data", () => {
          if (c.stall) socket.pause();
          r();
        }),
      );
      const upTo = Math.floor(raw.length * c.at);
      const step = Math.max(1, Math.ceil(upTo / c.pieces));
      for (let i = 0; i < upTo; i += step) {
        socket.write(raw.subarray(i, Math.min(upTo, i + step)));
        await sleep(0);
      }
      const flowing = flow(c.flowing - (c.flowing >> 1));
      if (c.cut === "destroy") socket.destroy();
      else if (c.cut === "reset") socket.resetAndDestroy();
      else if (c.cut === "half-close") socket.end();
      else {
        await Promise.race([answer, closed, sleep(ANSWER_WAIT_MS)]);
        if (c.cut === "destroy-after-answer") socket.destroy();
        else if (c.cut === "reset-after-answer") socket.resetAndDestroy();
        else socket.end();
      }
      await flowing;
      // A half-closed connection may still be answered; then the server must close it (or the client does).
      await Promise.race([closed, sleep(ANSWER_WAIT_MS)]);
      socket.destroy();
      await eventually(
        () => s.server.connections() <= 1,
        () => `${s.server.connections()} connections open after ${c.request}`,
      );
      // (A push subscription's agent, OPQ's, counts as its consumer for as long as it exists.)
      await eventually(
        async () => (await admin.getStats({})).subscriptions.every((x) => x.push !== undefined || x.consumers === 0),
        async () =>
          `consumers left: ${JSON.stringify((await admin.getStats({})).subscriptions.filter((x) => x.push === undefined && x.consumers > 0).map((x) => `${x.name}@${x.topic}`))}`,
      );
      // The bridge still answers a normal request.
      const healthy = HEALTHY[listener] as { request: Buffer; answer: string };
      const h = await open(listener);
      const got = await new Promise<string>((resolve, reject) => {
        let text = "";
        const timer = setTimeout(() => reject(new Error(`${listener} did not answer: ${JSON.stringify(text)}`)), 2_000);
        h.on("data", (d: Buffer) => {
          text += d.toString("latin1");
          if (text.includes("\n")) {
            clearTimeout(timer);
            resolve(text);
          }
        });
        h.write(healthy.request);
      });
      h.destroy();
      assert.ok(got.startsWith(healthy.answer), `${listener} answered ${JSON.stringify(got)}`);
      assertClean();
    });
    return hostileTarget({ property, server: s, admin, faults });
  },
};
