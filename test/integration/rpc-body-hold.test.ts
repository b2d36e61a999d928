/**
 * Request bodies that never end cannot keep the RPC port busy (README "Limits and failure
 * behaviour"): an HTTP/2 body is reset after --http-request-timeout-ms, one client holds at most
 * half of the request budget, with auth on a call without credentials is refused before any of
 * its body is read, and open streams are capped across sessions. The lean path and connect-node
 * alike; real server, raw HTTP/2 clients.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it, type TestContext } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import type { Config } from "../../src/config/index.js";
import { createTestClients } from "../helpers/clients.js";
import { grpcEnvelope, rawRequest } from "../helpers/raw-h2.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const MiB = 1024 * 1024;
const PUBLISH = "/switchyard.v1.PublisherService/Publish";
const ADMIN_USERS: Config["users"] = [
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin", "publisher"], topics: ["*"] },
];

async function serve(t: TestContext, config: Partial<Config>): Promise<TestServer> {
  const server = await startTestServer({ config: { okqPort: "off", ...config } });
  t.after(() => server.close());
  const admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-admin" });
  await admin.admin.createTopic({ name: "t", queue: true });
  admin.close();
  return server;
}

/** An h2c session from `localAddress` (one loopback address is one client). */
async function session(t: TestContext, server: TestServer, localAddress = "127.0.0.1") {
  // http2.connect hands its options to net.connect, which takes the local address.
  const s = http2.connect(server.baseUrl, { localAddress } as http2.SecureClientSessionOptions);
  s.on("error", () => {});
  t.after(() => s.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once("connect", () => resolve());
    s.once("error", reject);
  });
  return s;
}

/**
 * A Publish whose gRPC envelope promises 17 MiB and whose body sends `bytes` of it, never ending;
 * resolves once the server took them all (`flushed`), or at once.
 */
async function holdBody(
  s: http2.ClientHttp2Session,
  bytes: number,
  headers: http2.OutgoingHttpHeaders = {},
  flushed = true,
) {
  const stream = s.request({ ":method": "POST", ":path": PUBLISH, "content-type": "application/grpc", ...headers });
  stream.on("error", () => {});
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve));
  const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? 0)));
  stream.write(Buffer.concat([grpcEnvelope(Buffer.alloc(0), 0, 17 * MiB - 100), Buffer.alloc(bytes)]));
  if (flushed) await new Promise<void>((resolve) => stream.write(Buffer.alloc(0), () => resolve()));
  return { stream, trailers, closed };
}

/** The reason a Publish of `bytes` on `s` got, or `ok`. */
async function publishReason(s: http2.ClientHttp2Session, bytes: number, headers: http2.OutgoingHttpHeaders = {}) {
  const body = toBinary(
    PublishRequestSchema,
    // Messages of 512 KiB (under the message size limit).
    create(PublishRequestSchema, {
      topic: "t",
      messages: Array.from({ length: Math.ceil(bytes / (512 * 1024)) }, () => ({ data: Buffer.alloc(512 * 1024) })),
    }),
  );
  const res = await rawRequest(
    s,
    { ":path": PUBLISH, "content-type": "application/grpc", te: "trailers", ...headers },
    grpcEnvelope(body),
  );
  const error = findTrailerError(new Headers(res.trailers as Record<string, string>));
  return error ? (error.findDetails(ErrorDetailSchema)[0]?.reason ?? `code ${error.code}`) : "ok";
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const AUTH = { authorization: "Bearer tok-admin" };

describe("rpc body hold", () => {
  for (const leanRpc of ["on", "off"] as const) {
    it(`body hold - an HTTP/2 body that never ends is reset after --http-request-timeout-ms (--lean-rpc ${leanRpc})`, async (t) => {
      const server = await serve(t, {
        leanRpc,
        users: ADMIN_USERS,
        httpHeadersTimeoutMs: 200,
        httpRequestTimeoutMs: 2_000,
        rpcMaxRequestBytesInFlight: MiB,
      });
      const s = await session(t, server);
      const holder = await holdBody(s, 16 * MiB, AUTH);
      await settle(100);
      assert.equal(await publishReason(s, 2 * MiB, AUTH), "SERVER_BUSY", "the held body fills the budget");
      const rst = await Promise.race([holder.closed, settle(5_000).then(() => "still open")]);
      assert.equal(rst, http2.constants.NGHTTP2_CANCEL, "the stream is reset");
      assert.equal(await publishReason(s, 2 * MiB, AUTH), "ok", "its bytes went back");
    });

    it(`body hold - one client holds at most half of the request budget (--lean-rpc ${leanRpc})`, async (t) => {
      // 40 MiB in all: a client's share is 20 MiB.
      const server = await serve(t, { leanRpc, users: ADMIN_USERS, rpcMaxRequestBytesInFlight: 40 * MiB });
      const a = await session(t, server, "127.0.0.2");
      const holder = await holdBody(a, 16 * MiB, AUTH);
      await settle(300);
      const b = await session(t, server, "127.0.0.3");
      assert.equal(await publishReason(a, 6 * MiB, AUTH), "SERVER_BUSY", "A is over its share");
      const a2 = await session(t, server, "127.0.0.2");
      assert.equal(await publishReason(a2, 6 * MiB, AUTH), "SERVER_BUSY", "on another connection too");
      assert.equal(await publishReason(b, 6 * MiB, AUTH), "ok", "B is not kept waiting by A");
      holder.stream.close(http2.constants.NGHTTP2_CANCEL);
    });

    it(`body hold - with auth on, a call without credentials is refused before its body is read (--lean-rpc ${leanRpc})`, async (t) => {
      const server = await serve(t, { leanRpc, users: ADMIN_USERS, rpcMaxRequestBytesInFlight: MiB });
      const s = await session(t, server);
      for (const headers of [{}, { authorization: "Bearer wrong" }]) {
        // The server reads none of it: the client's write never completes.
        const holder = await holdBody(s, MiB, headers, false);
        const trailers = await Promise.race([holder.trailers, settle(5_000).then(() => undefined)]);
        assert.ok(trailers, "answered while the body is still open");
        const error = findTrailerError(new Headers(Object.entries(trailers as Record<string, string>)));
        assert.equal(error?.code, Code.Unauthenticated);
        assert.equal(error?.findDetails(ErrorDetailSchema)[0]?.reason, "UNAUTHENTICATED");
        holder.stream.close(http2.constants.NGHTTP2_CANCEL);
      }
      assert.equal(await publishReason(s, 2 * MiB, AUTH), "ok", "the session still serves");
    });
  }

  it("body hold - streams past --http2-max-open-streams are refused (REFUSED_STREAM), across sessions", async (t) => {
    const server = await serve(t, { users: ADMIN_USERS, http2MaxOpenStreams: 2 });
    const [s1, s2] = [await session(t, server), await session(t, server)];
    const held = [await holdBody(s1, 10, AUTH), await holdBody(s2, 10, AUTH)];
    const third = await holdBody(s2, 10, AUTH);
    assert.equal(await third.closed, http2.constants.NGHTTP2_REFUSED_STREAM);
    for (const h of held) h.stream.close(http2.constants.NGHTTP2_CANCEL);
    await Promise.all(held.map((h) => h.closed));
    await settle(50);
    assert.equal(await publishReason(s1, 10, AUTH), "ok", "room again once they closed");
  });
});
