/**
 * Bounds of the RPC port (README "Limits and failure behaviour"): slow HTTP/1.1 headers and
 * bodies time out, idle HTTP/2 sessions are closed while busy ones stay, the stream limit is
 * announced, connections are capped, and request bytes in flight are bounded (SERVER_BUSY) on
 * the lean path and on connect-node's alike.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import * as net from "node:net";
import { describe, it, type TestContext } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { PullRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Config } from "../../src/config/index.js";
import { grpcEnvelope, openSession, rawRequest } from "../helpers/raw-h2.js";
import { startTestServer } from "../helpers/start-test-server.js";

async function serve(t: TestContext, config: Partial<Config>) {
  const server = await startTestServer({ config: { okqPort: "off", ...config } });
  t.after(() => server.close());
  const [host, port] = [server.addresses.rpc?.split(":")[0] as string, Number(server.addresses.rpc?.split(":")[1])];
  return { server, host, port };
}

function connect(t: TestContext, port: number): Promise<net.Socket> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  t.after(() => socket.destroy());
  return new Promise((resolve) => socket.once("connect", () => resolve(socket)));
}

/** An HTTP/2 frame (RFC 9113 §4.1). */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** A header block of HPACK literals without indexing, no Huffman (RFC 7541 §6.2.2); short strings only. */
function hpackLiterals(headers: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    parts.push(Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value));
  }
  return Buffer.concat(parts);
}

/** Resolves with what the server sent and how long the socket stayed open, bounded by `limitMs`. */
function closedWithin(socket: net.Socket, limitMs: number): Promise<{ ms: number; text: string } | undefined> {
  const started = Date.now();
  let text = "";
  socket.on("data", (b: Buffer) => {
    text += b.toString("latin1");
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), limitMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve({ ms: Date.now() - started, text });
    });
  });
}

describe("rpc port limits", () => {
  it("limits - HTTP/1.1 headers sent a byte at a time are cut off by --http-headers-timeout-ms", async (t) => {
    const { port } = await serve(t, { httpHeadersTimeoutMs: 300 });
    const socket = await connect(t, port);
    socket.write("POST /switchyard.v1.PublisherService/Publish HTTP/1.1\r\nHost: x\r\n");
    const drip = setInterval(() => socket.write("X-Slow: 1\r\n"), 100);
    t.after(() => clearInterval(drip));
    const closed = await closedWithin(socket, 5_000);
    clearInterval(drip);
    assert.ok(closed, "the slow client is still connected after 5 s");
    assert.match(closed.text, /^HTTP\/1\.1 408 Request Timeout/);
  });

  it("limits - an HTTP/1.1 body that trickles is cut off by --http-request-timeout-ms", async (t) => {
    const { port } = await serve(t, { httpHeadersTimeoutMs: 500, httpRequestTimeoutMs: 500 });
    const socket = await connect(t, port);
    socket.write(
      "POST /switchyard.v1.PublisherService/Publish HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{",
    );
    const drip = setInterval(() => socket.write(" "), 100);
    t.after(() => clearInterval(drip));
    const closed = await closedWithin(socket, 5_000);
    clearInterval(drip);
    assert.ok(closed, "the trickling client is still connected after 5 s");
  });

  it("limits - an idle HTTP/2 session is closed after --http2-idle-timeout-ms; one with a call open stays", async (t) => {
    const { server } = await serve(t, { http2IdleTimeoutMs: 200 });
    const idle = await openSession(server.baseUrl);
    t.after(() => idle.destroy());
    const busy = await openSession(server.baseUrl);
    t.after(() => busy.destroy());
    const idleGone = new Promise<number>((resolve) => {
      const started = Date.now();
      idle.once("close", () => resolve(Date.now() - started));
    });
    // A long-poll Pull on a missing subscription fails at once; use one on a real queue instead.
    const created = await rawRequest(
      busy,
      { ":path": "/switchyard.v1.AdminService/CreateTopic", "content-type": "application/json" },
      Buffer.from('{"name":"q","queue":true}'),
    );
    assert.equal(created.status, 200);
    const longPoll = rawRequest(
      busy,
      { ":path": "/switchyard.v1.SubscriberService/Pull", "content-type": "application/json" },
      Buffer.from('{"subscription":"q","waitMs":1500}'),
    );
    const ms = await idleGone;
    assert.ok(ms < 3_000, `idle session closed after ${ms} ms`);
    const pulled = await longPoll;
    assert.equal(pulled.status, 200, "the session with a call open kept it");
    assert.equal(pulled.body.toString(), "{}");
  });

  it("limits - an HTTP/2 peer that stops answering (half-open) is dropped even with a call open", async (t) => {
    const { server, port } = await serve(t, { http2IdleTimeoutMs: 300 });
    const created = await fetch(`${server.baseUrl}/switchyard.v1.AdminService/CreateTopic`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"name":"q","queue":true}',
    });
    assert.equal(created.status, 200);
    // A hand-made HTTP/2 client: preface, SETTINGS, one long-poll Pull; then it never answers
    // again (no SETTINGS ACK, no PING ACK), like a peer whose machine went away.
    const socket = await connect(t, port);
    const pull = toBinary(PullRequestSchema, create(PullRequestSchema, { subscription: "q", waitMs: 60_000 }));
    socket.write(
      Buffer.concat([
        Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
        frame(0x4, 0, 0, Buffer.alloc(0)),
        frame(
          0x1,
          0x4,
          1,
          hpackLiterals([
            [":method", "POST"],
            [":scheme", "http"],
            [":authority", "x"],
            [":path", "/switchyard.v1.SubscriberService/Pull"],
            ["content-type", "application/grpc"],
          ]),
        ),
        frame(0x0, 0x1, 1, grpcEnvelope(pull)),
      ]),
    );
    const closed = await closedWithin(socket, 5_000);
    assert.ok(closed, "the half-open session was still there after 5 s");
  });

  it("limits - HTTP/2 sessions announce --http2-max-concurrent-streams", async (t) => {
    const { server } = await serve(t, { http2MaxConcurrentStreams: 7 });
    const session = http2.connect(server.baseUrl);
    t.after(() => session.destroy());
    const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    assert.equal(settings.maxConcurrentStreams, 7);
  });

  it("limits - connections past --rpc-max-connections are closed as they come", async (t) => {
    const { port } = await serve(t, { rpcMaxConnections: 2 });
    await connect(t, port);
    await connect(t, port);
    const third = await connect(t, port);
    const closed = await closedWithin(third, 2_000);
    assert.ok(closed, "the third connection stayed open");
  });

  for (const leanRpc of ["on", "off"] as const) {
    it(`limits - request bytes in flight are bounded: SERVER_BUSY (--lean-rpc ${leanRpc})`, async (t) => {
      const { server } = await serve(t, { leanRpc, rpcMaxRequestBytesInFlight: 1024 * 1024 });
      // The bound is never below the largest request (17 MiB here): hold 16 MiB of one request.
      const session = await openSession(server.baseUrl);
      t.after(() => session.destroy());
      const holder = session.request({
        ":method": "POST",
        ":path": "/switchyard.v1.PublisherService/Publish",
        "content-type": "application/grpc",
      });
      holder.on("error", () => {});
      const head = grpcEnvelope(Buffer.alloc(0), 0, 17 * 1024 * 1024 - 100);
      holder.write(Buffer.concat([head, Buffer.alloc(16 * 1024 * 1024)]));
      await new Promise<void>((resolve) => holder.write(Buffer.alloc(0), () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const body = toBinary(
        PublishRequestSchema,
        create(PublishRequestSchema, { topic: "t", messages: [{ data: Buffer.alloc(2 * 1024 * 1024) }] }),
      );
      const res = await rawRequest(
        session,
        { ":path": "/switchyard.v1.PublisherService/Publish", "content-type": "application/grpc", te: "trailers" },
        grpcEnvelope(body),
      );
      holder.close(http2.constants.NGHTTP2_CANCEL);
      const error = findTrailerError(new Headers(res.trailers as Record<string, string>));
      assert.equal(error?.code, Code.Unavailable, JSON.stringify(res.trailers));
      assert.equal(error?.findDetails(ErrorDetailSchema)[0]?.reason, "SERVER_BUSY");
    });
  }
});
