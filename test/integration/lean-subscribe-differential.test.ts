/**
 * The lean path's Subscribe speaks the same protocol as connect-node: each scenario (a stream of
 * several batches ended by the client, every error the request can get, a deadline that passes
 * mid-stream, auth refusals, shutdown mid-stream; gRPC and Connect) runs against a broker with
 * `--lean-rpc on` and one with `--lean-rpc off`, in the same order, and what the client sees must
 * be the same: status, headers (a `date` on both), when the headers came, every envelope byte
 * for byte, trailers and reset code, and the RPC metrics. Both brokers share a clock whose time
 * stands still, so publish times and ack ids match.
 */
import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscribeRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { UserConfig } from "../../src/auth/index.js";
import type { Logger } from "../../src/util/index.js";
import { grpcEnvelope, openSession, rawRequest } from "../helpers/raw-h2.js";
import { openRawStream, type RawStreamResult } from "../helpers/raw-h2-stream.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { stillClock } from "../helpers/still-clock.js";

const clock = stillClock();

const SUBSCRIBE = "/switchyard.v1.SubscriberService/Subscribe";
const PUBLISH = "/switchyard.v1.PublisherService/Publish";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const CONNECT = { "content-type": "application/connect+proto" };
const PROTOCOLS = { grpc: GRPC, connect: CONNECT } as const;
const JSON_CT = { "content-type": "application/json" };

const subscribe = (subscription: string, extra: { maxOutstandingMessages?: number } = {}) =>
  toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { subscription, ...extra }));
const bytes = (s: string) => Buffer.from(s, "utf8");

type Scenario = (server: TestServer, session: http2.ClientHttp2Session) => Promise<unknown>;

async function admin(session: http2.ClientHttp2Session, method: string, json: string): Promise<void> {
  const res = await rawRequest(session, { ":path": `/switchyard.v1.AdminService/${method}`, ...JSON_CT }, bytes(json));
  assert.equal(res.status, 200, res.body.toString());
}

async function publish(session: http2.ClientHttp2Session, topic: string, datas: string[]): Promise<void> {
  const body = toBinary(
    PublishRequestSchema,
    create(PublishRequestSchema, {
      topic,
      messages: datas.map((d) => ({ data: bytes(d), attributes: { k: d, "1": "one" } })),
    }),
  );
  const res = await rawRequest(session, { ":path": PUBLISH, ...GRPC }, grpcEnvelope(body));
  assert.equal(res.trailers["grpc-status"], "0", String(res.trailers["grpc-message"]));
}

/** A request that ends by itself (an error, or the JSON variants on a missing subscription). */
const once =
  (headers: Record<string, string>, body: Uint8Array): Scenario =>
  (_server, session) =>
    openRawStream(session, { ":path": SUBSCRIBE, ...headers }, body).done;

/** A stream that gets three batches (one publish each) and is then cancelled by its client. */
const batchesThenCancel =
  (protocol: keyof typeof PROTOCOLS, topic: string): Scenario =>
  async (_server, session) => {
    await admin(session, "CreateTopic", `{"name":"${topic}","queue":true}`);
    const stream = openRawStream(
      session,
      { ":path": SUBSCRIBE, ...PROTOCOLS[protocol] },
      grpcEnvelope(subscribe(topic)),
    );
    await new Promise((resolve) => setTimeout(resolve, 150));
    const headersBeforeFirstMessage = stream.headersArrived();
    await publish(session, topic, ["a"]);
    await stream.envelopes(1);
    await publish(session, topic, ["b", "c"]);
    await stream.envelopes(2);
    await publish(session, topic, ["d", "e", "f"]);
    await stream.envelopes(3);
    stream.cancel();
    return { headersBeforeFirstMessage, ...(await stream.done) };
  };

/** A stream whose deadline passes after its first batch. */
const deadlineMidStream =
  (protocol: keyof typeof PROTOCOLS, topic: string): Scenario =>
  async (_server, session) => {
    await admin(session, "CreateTopic", `{"name":"${topic}","queue":true}`);
    await publish(session, topic, ["early"]);
    const timeout = protocol === "grpc" ? { "grpc-timeout": "400m" } : { "connect-timeout-ms": "400" };
    const stream = openRawStream(
      session,
      { ":path": SUBSCRIBE, ...PROTOCOLS[protocol], ...timeout },
      grpcEnvelope(subscribe(topic)),
    );
    await stream.envelopes(1);
    return stream.done;
  };

const scenarios: [string, Scenario][] = [];
for (const protocol of ["grpc", "connect"] as const) {
  const h = PROTOCOLS[protocol];
  scenarios.push(
    [`${protocol}: three batches, then the client cancels`, batchesThenCancel(protocol, `many-${protocol}`)],
    [`${protocol}: subscription not found`, once(h, grpcEnvelope(subscribe("nope")))],
    [
      `${protocol}: max_outstanding_messages out of range`,
      once(h, grpcEnvelope(subscribe("valid", { maxOutstandingMessages: 1e9 }))),
    ],
    [`${protocol}: bad protobuf`, once(h, grpcEnvelope(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])))],
    [`${protocol}: an envelope over the read limit`, once(h, grpcEnvelope(Buffer.from("x"), 0, 0x7fff_ffff))],
    [`${protocol}: an empty body`, once(h, Buffer.alloc(0))],
    [
      `${protocol}: two request messages`,
      once(h, Buffer.concat([grpcEnvelope(subscribe("a")), grpcEnvelope(subscribe("b"))])),
    ],
    [`${protocol}: an incomplete envelope`, once(h, grpcEnvelope(subscribe("nope")).subarray(0, 7))],
    [`${protocol}: a compressed envelope`, once(h, grpcEnvelope(subscribe("nope"), 1))],
    [
      `${protocol}: an end-stream flag on the request envelope`,
      once(h, Buffer.concat([grpcEnvelope(bytes("{}"), 2), grpcEnvelope(subscribe("nope"))])),
    ],
    [`${protocol}: a deadline that passes mid-stream`, deadlineMidStream(protocol, `late-${protocol}`)],
  );
}
scenarios.push(
  ["grpc: a bad grpc-timeout", once({ ...GRPC, "grpc-timeout": "soon" }, grpcEnvelope(subscribe("nope")))],
  [
    "connect: a bad connect-timeout-ms",
    once({ ...CONNECT, "connect-timeout-ms": "x" }, grpcEnvelope(subscribe("nope"))),
  ],
  ["grpc: a zero deadline", once({ ...GRPC, "grpc-timeout": "0m" }, grpcEnvelope(subscribe("nope")))],
  [
    "grpc+json (connect-node answers)",
    once({ "content-type": "application/grpc+json" }, grpcEnvelope(bytes('{"subscription":"nope"}'))),
  ],
  [
    "connect+json (connect-node answers)",
    once({ "content-type": "application/connect+json" }, grpcEnvelope(bytes('{"subscription":"nope"}'))),
  ],
  [
    "connect gzip (connect-node answers)",
    once({ ...CONNECT, "connect-content-encoding": "gzip" }, grpcEnvelope(subscribe("nope"))),
  ],
  ["grpc gzip (connect-node answers)", once({ ...GRPC, "grpc-encoding": "gzip" }, grpcEnvelope(subscribe("nope")))],
);

/** The RPC metrics of Subscribe calls, as /metrics lines. */
async function subscribeCounters(server: TestServer): Promise<string[]> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return text
    .split("\n")
    .filter(
      (l) =>
        l.startsWith("switchyard_rpc_requests_total{") ||
        l.startsWith("switchyard_rpc_request_duration_seconds_count{"),
    )
    .filter((l) => l.includes('method="Subscribe"'))
    .sort();
}

/** Runs `scenario` on both servers (lean first) and requires the same outcome. */
async function same(name: string, scenario: Scenario, lean: TestServer, plain: TestServer): Promise<unknown> {
  const results: unknown[] = [];
  for (const server of [lean, plain]) {
    const session = await openSession(server.baseUrl);
    try {
      results.push(await scenario(server, session));
    } finally {
      session.close();
    }
  }
  if (process.env.DUMP) console.log(name, JSON.stringify(results[0]).slice(0, 700));
  assert.deepEqual(results[0], results[1], `${name}: lean and connect-node differ`);
  return results[0];
}

/** A logger that keeps the debug `rpc` lines of Subscribe calls (without their timing and port). */
function subscribeLog(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const ignore = () => {};
  const logger: Logger = {
    info: ignore,
    warn: ignore,
    error: ignore,
    debug(message, fields) {
      if (message !== "rpc" || !String(fields?.method).endsWith("/Subscribe")) return;
      const { durationMs: _d, peer: _p, ...rest } = fields ?? {};
      lines.push(rest);
    },
  };
  return { logger, lines };
}

describe("lean subscribe - differential against connect-node", () => {
  let lean: TestServer;
  let plain: TestServer;
  const leanLog = subscribeLog();
  const plainLog = subscribeLog();

  before(async () => {
    lean = await startTestServer({ config: { leanRpc: "on" }, clock, logger: leanLog.logger });
    plain = await startTestServer({ config: { leanRpc: "off" }, clock, logger: plainLog.logger });
    for (const server of [lean, plain]) {
      const session = await openSession(server.baseUrl);
      await admin(session, "CreateTopic", '{"name":"valid","queue":true}');
      session.close();
    }
  });

  after(async () => {
    await lean?.close();
    await plain?.close();
  });

  it("lean subscribe - every scenario looks the same from the client, and counts the same in /metrics", async () => {
    const seen: Record<string, unknown> = {};
    for (const [name, scenario] of scenarios) seen[name] = await same(name, scenario, lean, plain);
    // The scenarios test what they say (so that a sameness of two broken answers cannot pass).
    const many = seen["grpc: three batches, then the client cancels"] as RawStreamResult & {
      headersBeforeFirstMessage: boolean;
    };
    assert.equal(many.headersBeforeFirstMessage, false, "connect-node sends the headers with the first message");
    assert.equal(many.envelopes.length, 3);
    assert.deepEqual(many.headers, { "content-type": "application/grpc+proto" });
    const notFound = seen["grpc: subscription not found"] as RawStreamResult;
    assert.equal(notFound.trailers["grpc-status"], "5");
    assert.ok(notFound.trailers["grpc-status-details-bin"], "the ErrorDetail travels");
    const connectNotFound = seen["connect: subscription not found"] as RawStreamResult;
    assert.equal(connectNotFound.envelopes.length, 1);
    assert.equal(connectNotFound.envelopes[0]?.flags, 2);
    assert.match(Buffer.from(connectNotFound.envelopes[0]?.data ?? "", "hex").toString(), /"code":"not_found"/);
    const late = seen["grpc: a deadline that passes mid-stream"] as RawStreamResult;
    assert.equal(late.envelopes.length, 1);
    assert.notEqual(late.trailers["grpc-status"], "0");
    assert.deepEqual(await subscribeCounters(lean), await subscribeCounters(plain));
    assert.ok((await subscribeCounters(lean)).some((l) => l.includes('protocol="grpc"')));
    // A cancelled stream is logged when the server notices, maybe after the next scenario began.
    const sorted = (lines: Record<string, unknown>[]) => lines.map((l) => JSON.stringify(l)).sort();
    assert.deepEqual(sorted(leanLog.lines), sorted(plainLog.lines), "the log interceptor logs the same lines");
    assert.ok(
      leanLog.lines.some((l) => l.messages === 3 && l.code === "Canceled"),
      JSON.stringify(leanLog.lines),
    );
  });
});

const USERS: UserConfig[] = [
  { name: "app", password: "app-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["orders"] },
  { name: "pub", password: "pub-pw", tokens: [], roles: ["publisher"], topics: [] },
];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("lean subscribe - auth and shutdown against connect-node", () => {
  it("lean subscribe - refusals with auth on are the same: no credentials, bad password, no role", async () => {
    const servers = [
      await startTestServer({ config: { leanRpc: "on", users: USERS }, clock }),
      await startTestServer({ config: { leanRpc: "off", users: USERS }, clock }),
    ] as const;
    try {
      for (const protocol of ["grpc", "connect"] as const) {
        const h = PROTOCOLS[protocol];
        for (const [name, authorization] of [
          ["no credentials", undefined],
          ["a bad password", basic("app", "nope")],
          ["no subscriber role", basic("pub", "pub-pw")],
        ] as const) {
          const headers = { ...h, ...(authorization ? { authorization } : {}) };
          const got = await same(`${protocol} ${name}`, once(headers, grpcEnvelope(subscribe("orders"))), ...servers);
          const r = got as RawStreamResult;
          if (protocol === "grpc") assert.match(String(r.trailers["grpc-status"]), /^(16|7)$/, name);
        }
        // A bad deadline header and no credentials: the auth interceptor refuses before the request
        // message (which would raise the deadline error) is read.
        const timeout: Record<string, string> =
          protocol === "grpc" ? { "grpc-timeout": "soon" } : { "connect-timeout-ms": "x" };
        const late = await same(
          `${protocol} bad deadline, no credentials`,
          once({ ...h, ...timeout }, grpcEnvelope(subscribe("orders"))),
          ...servers,
        );
        if (protocol === "grpc") assert.equal((late as RawStreamResult).trailers["grpc-status"], "16");
      }
      assert.deepEqual(await subscribeCounters(servers[0]), await subscribeCounters(servers[1]));
    } finally {
      for (const s of servers) await s.close();
    }
  });

  it("lean subscribe - a stream open at shutdown ends as connect-node ends it", async () => {
    const results: unknown[] = [];
    for (const leanRpc of ["on", "off"] as const) {
      const server = await startTestServer({ config: { leanRpc }, clock });
      const session = await openSession(server.baseUrl);
      try {
        await admin(session, "CreateTopic", '{"name":"q","queue":true}');
        await publish(session, "q", ["x"]);
        const grpc = openRawStream(session, { ":path": SUBSCRIBE, ...GRPC }, grpcEnvelope(subscribe("q")));
        await grpc.envelopes(1);
        const connect = openRawStream(session, { ":path": SUBSCRIBE, ...CONNECT }, grpcEnvelope(subscribe("q")));
        await new Promise((resolve) => setTimeout(resolve, 150));
        const closed = server.close();
        results.push(await Promise.all([grpc.done, connect.done]));
        await closed;
      } finally {
        session.destroy();
        await server.close();
      }
    }
    assert.deepEqual(results[0], results[1]);
    const [grpc, connect] = results[0] as RawStreamResult[];
    assert.equal(grpc?.trailers["grpc-status"], "14", "UNAVAILABLE");
    assert.match(Buffer.from(connect?.envelopes.at(-1)?.data ?? "", "hex").toString(), /"code":"unavailable"/);
  });
});
