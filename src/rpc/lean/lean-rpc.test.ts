import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it, type TestContext } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextKey,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ErrorDetailSchema } from "../../../gen/switchyard/v1/errors_pb.js";
import { PublishRequestSchema, PublishResponseSchema } from "../../../gen/switchyard/v1/publisher_pb.js";
import { grpcEnvelope, openSession, rawRequest } from "../../../test/helpers/raw-h2.js";
import { createTestCertificate } from "../../../test/helpers/test-certificate.js";
import { createBroker } from "../../core/index.js";
import { formatAddress } from "../../server/listen.js";
import { createOnePortListener } from "../../server/one-port-listener.js";
import { createMemoryStore } from "../../store/index.js";
import { type Clock, silentLogger, systemClock } from "../../util/index.js";
import { registerBrokerServices } from "../index.js";
import { createLeanRpc } from "./lean-rpc.js";

const clock: Clock = {
  now: () => 1_800_000_000_000,
  setTimer: systemClock.setTimer,
  clearTimer: systemClock.clearTimer,
};
const READ_MAX_BYTES = 1024 * 1024;

/** A context value the server sets per call (as an authenticator might set the peer). */
const kPeer = createContextKey("none", { description: "peer" });
const peerValues = () => createContextValues().set(kPeer, "127.0.0.1");

/** The interceptors a server may have (auth, metrics): each one's effect must survive either path. */
const interceptors: Interceptor[] = [
  // Like an authorization check: refuse with a reason, metadata and a detail.
  (next) => async (req) => {
    if (req.header.get("authorization") === "Bearer bad") {
      throw new ConnectError("who are you?", Code.Unauthenticated, { "www-authenticate": "Bearer" }, [
        { desc: ErrorDetailSchema, value: { reason: "UNAUTHENTICATED", metadata: { user: "?" } } },
      ]);
    }
    if (req.header.get("authorization") === "Bearer crash") throw new Error("an interceptor bug");
    return next(req);
  },
  // Like a metrics interceptor: reads the protocol from the content type, sets headers and trailers.
  (next) => async (req) => {
    const res = await next(req);
    res.header.set("x-seen-content-type", req.header.get("content-type") ?? "");
    res.header.set("x-method", req.method.name);
    res.trailer.set("x-trailer", "t");
    res.header.set("x-peer", req.contextValues.get(kPeer));
    return res;
  },
  // Replaces the request and the response objects (spread), as interceptors may.
  (next) => async (req) => {
    const header = new Headers(req.header);
    header.set("x-added", "1");
    const res = await next({ ...req, header });
    if (!res.stream && req.header.get("x-rewrite") === "yes") {
      const replacedHeader = new Headers(res.header);
      replacedHeader.set("x-replaced", "1");
      const replacedTrailer = new Headers(res.trailer);
      replacedTrailer.set("x-replaced-trailer", "1");
      const message = create(PublishResponseSchema, { results: [{ seq: 99n, id: "rewritten" }] });
      return { ...res, message, header: replacedHeader, trailer: replacedTrailer };
    }
    return { ...res };
  },
];

/** Options of {@link startServers}: the interceptors of both paths, and TLS for both listeners. */
interface PairOptions {
  interceptors?: Interceptor[];
  tls?: Parameters<typeof createOnePortListener>[0]["tls"];
}

/** Two brokers on port 0, the first served by the lean path, the second by connect-node alone: their authorities. */
async function startServers(t: TestContext, options: PairOptions = {}): Promise<[string, string]> {
  const chain = options.interceptors ?? interceptors;
  const authorities: string[] = [];
  for (const lean of [true, false]) {
    const broker = createBroker({ store: createMemoryStore(), clock });
    await broker.createTopic({ name: "t", queue: true });
    const shutdown = new AbortController();
    const routes = (router: ConnectRouter) => registerBrokerServices(router, { broker, logger: silentLogger });
    const handler = connectNodeAdapter({
      routes,
      interceptors: chain,
      acceptCompression: [],
      readMaxBytes: READ_MAX_BYTES,
      contextValues: peerValues,
    });
    const leanRpc = createLeanRpc({
      broker,
      logger: silentLogger,
      interceptors: chain,
      shutdownSignal: shutdown.signal,
      readMaxBytes: READ_MAX_BYTES,
      contextValues: peerValues,
    });
    const listener = createOnePortListener({
      handler,
      logger: silentLogger,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(lean ? { http2Streams: leanRpc.serve } : {}),
    });
    const address = await listener.listen({ name: "rpc", host: "127.0.0.1", port: 0, flag: "--port" });
    t.after(async () => {
      shutdown.abort();
      await listener.destroy();
      await broker.close();
    });
    authorities.push(formatAddress(address));
  }
  return authorities as [string, string];
}

/** {@link startServers} over plain HTTP: the lean server's URL, then connect-node's. */
async function startPair(t: TestContext): Promise<[string, string]> {
  const [lean, plain] = await startServers(t);
  return [`http://${lean}`, `http://${plain}`];
}

const publishBody = toBinary(
  PublishRequestSchema,
  create(PublishRequestSchema, { topic: "t", messages: [{ data: new Uint8Array([1]) }] }),
);
const PATH = "/switchyard.v1.PublisherService/Publish";

describe("lean rpc - interceptors", () => {
  it("lean rpc - interceptor errors, headers, trailers and rewrites render as connect-node renders them", async (t) => {
    const [leanUrl, plainUrl] = await startPair(t);
    const leanSession = await openSession(leanUrl);
    const plainSession = await openSession(plainUrl);
    t.after(() => {
      leanSession.close();
      plainSession.close();
    });
    const variants = [
      {},
      { authorization: "Bearer bad" },
      { authorization: "Bearer crash" },
      { "x-rewrite": "yes" },
      { "grpc-timeout": "1S", "connect-timeout-ms": "1000" },
    ];
    let compared = 0;
    for (const extra of variants) {
      for (const [contentType, body] of [
        ["application/grpc", grpcEnvelope(publishBody)],
        ["application/proto", Buffer.from(publishBody)],
        ["application/json", Buffer.from('{"topic":"t","messages":[{"data":"AQ=="}]}')],
      ] as const) {
        const headers = { ":path": PATH, "content-type": contentType, ...extra };
        const a = await rawRequest(leanSession, headers, body);
        const b = await rawRequest(plainSession, headers, body);
        assert.deepEqual(a, b, `${contentType} ${JSON.stringify(extra)}`);
        compared++;
      }
    }
    assert.equal(compared, 15);
  });

  it("lean rpc - interceptors see the lean call's request header, method and content type", async (t) => {
    const [leanUrl] = await startPair(t);
    const session = await openSession(leanUrl);
    t.after(() => session.close());
    const res = await rawRequest(
      session,
      { ":path": PATH, "content-type": "application/grpc" },
      grpcEnvelope(publishBody),
    );
    assert.equal(res.headers["x-seen-content-type"], "application/grpc");
    assert.equal(res.headers["x-method"], "Publish");
    assert.equal(res.trailers["x-trailer"], "t");
    assert.equal(res.headers["x-peer"], "127.0.0.1");
    assert.equal(res.trailers["grpc-status"], "0");
  });
});

describe("lean rpc - TLS", () => {
  it("lean rpc - over TLS a call's URL is https, on both paths, call after call", async (t) => {
    const { cert, key } = createTestCertificate();
    const pair = { cert: Buffer.from(cert), key: Buffer.from(key) };
    const tls = {
      current: () => pair,
      reload: async () => {},
      onReload: () => () => {},
      files: { cert: "c", key: "k" },
    };
    const seen: string[] = [];
    // No unary hook: the lean path runs it as an interceptor, which reads the URL.
    const recordUrl: Interceptor = (next) => (req) => {
      seen.push(req.url);
      return next(req);
    };
    const authorities = await startServers(t, { interceptors: [recordUrl], tls });
    for (const [k, authority] of authorities.entries()) {
      const lean = k === 0;
      const session = http2.connect(`https://${authority}`, {
        ca: cert,
        servername: "localhost",
        checkServerIdentity: () => undefined,
      });
      t.after(() => session.close());
      for (let i = 0; i < 2; i++) {
        const res = await rawRequest(
          session,
          { ":path": PATH, "content-type": "application/grpc" },
          grpcEnvelope(publishBody),
        );
        assert.equal(res.trailers["grpc-status"], "0", `lean ${lean}`);
      }
    }
    // (The client names the server `localhost`, its TLS server name, in :authority.)
    const port = (authority: string) => authority.slice(authority.lastIndexOf(":") + 1);
    assert.deepEqual(
      seen,
      [0, 0, 1, 1].map((k) => `https://localhost:${port(authorities[k] as string)}${PATH}`),
    );
  });
});
