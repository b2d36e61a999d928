/**
 * The lean unary path speaks the same protocol as connect-node: one corpus of raw HTTP/2
 * requests (valid calls, every error reason the hot methods give, bad protobuf and JSON, read
 * limits, deadlines, unknown fields, compression, wrong content types) goes to a broker with
 * `--lean-rpc on` and to one with `--lean-rpc off`, in the same order, and every response must be
 * the same: status, headers (a `date` on both), body, trailers and stream reset code. Both brokers
 * share a clock whose time stands still, so publish times and lease ids match byte for byte.
 */
import assert from "node:assert/strict";
import type * as http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import {
  AckRequestSchema,
  ModifyAckDeadlineRequestSchema,
  NackRequestSchema,
  PullRequestSchema,
} from "../../gen/switchyard/v1/subscriber_pb.js";
import { grpcEnvelope, openSession, rawRequest } from "../helpers/raw-h2.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { stillClock } from "../helpers/still-clock.js";

const clock = stillClock();

const PUBLISH = "/switchyard.v1.PublisherService/Publish";
const PULL = "/switchyard.v1.SubscriberService/Pull";
const ACK = "/switchyard.v1.SubscriberService/Ack";
const NACK = "/switchyard.v1.SubscriberService/Nack";
const MODIFY = "/switchyard.v1.SubscriberService/ModifyAckDeadline";

const GRPC = { "content-type": "application/grpc", te: "trailers" };
const GRPC_PROTO = { "content-type": "application/grpc+proto", te: "trailers" };
const GRPC_JSON = { "content-type": "application/grpc+json", te: "trailers" };
const PROTO = { "content-type": "application/proto" };
const JSON_CT = { "content-type": "application/json" };

const MAX_MESSAGE_BYTES = 4096;

const bytes = (s: string) => Buffer.from(s, "utf8");
const publish = (topic: string, messages: { data?: Uint8Array; id?: string; priority?: number }[]) =>
  toBinary(PublishRequestSchema, create(PublishRequestSchema, { topic, messages }));
const pull = (subscription: string, maxMessages = 10, extra: { ackDeadlineMs?: bigint; autoAck?: boolean } = {}) =>
  toBinary(PullRequestSchema, create(PullRequestSchema, { subscription, maxMessages, ...extra }));
const ack = (subscription: string, ackIds: string[], messageIds: string[] = []) =>
  toBinary(AckRequestSchema, create(AckRequestSchema, { subscription, ackIds, messageIds }));

interface Case {
  name: string;
  headers: http2.OutgoingHttpHeaders;
  body: Uint8Array;
}

const c = (name: string, path: string, headers: Record<string, string>, body: Uint8Array): Case => ({
  name,
  headers: { ":path": path, ...headers },
  body,
});

/** A field number no message of the API uses, as a varint: an unknown field. */
const UNKNOWN_FIELD = Buffer.from([0xf8, 0x06, 0x01]); // field 111, varint 1

const corpus: Case[] = [
  c("grpc Publish one message", PUBLISH, GRPC, grpcEnvelope(publish("t1", [{ data: bytes("hello") }]))),
  c("grpc+proto Publish with an id", PUBLISH, GRPC_PROTO, grpcEnvelope(publish("t1", [{ data: bytes("x"), id: "a" }]))),
  c("grpc Publish the same id: duplicate", PUBLISH, GRPC, grpcEnvelope(publish("t1", [{ data: bytes("x"), id: "a" }]))),
  c("grpc Publish to a missing topic", PUBLISH, GRPC, grpcEnvelope(publish("nope", [{ data: bytes("x") }]))),
  c("grpc Publish with an empty topic name", PUBLISH, GRPC, grpcEnvelope(publish("", [{ data: bytes("x") }]))),
  c("grpc Publish no messages", PUBLISH, GRPC, grpcEnvelope(publish("t1", []))),
  c(
    "grpc Publish a message over the size limit",
    PUBLISH,
    GRPC,
    grpcEnvelope(publish("t1", [{ data: Buffer.alloc(MAX_MESSAGE_BYTES + 1) }])),
  ),
  c(
    "grpc Publish over the batch count",
    PUBLISH,
    GRPC,
    grpcEnvelope(
      publish(
        "t1",
        Array.from({ length: 1001 }, () => ({ data: bytes("x") })),
      ),
    ),
  ),
  c("grpc Publish with priority 10", PUBLISH, GRPC, grpcEnvelope(publish("t1", [{ data: bytes("x"), priority: 10 }]))),
  c("grpc Publish fills a topic", PUBLISH, GRPC, grpcEnvelope(publish("full", [{ data: bytes("x") }]))),
  c("grpc Publish to a full topic: BACKLOG_FULL", PUBLISH, GRPC, grpcEnvelope(publish("full", [{ data: bytes("y") }]))),
  c(
    "grpc Publish with an unknown field",
    PUBLISH,
    GRPC,
    grpcEnvelope(Buffer.concat([publish("t1", [{ data: bytes("u") }]), UNKNOWN_FIELD])),
  ),
  c("grpc bad protobuf", PUBLISH, GRPC, grpcEnvelope(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))),
  c("grpc empty body", PUBLISH, GRPC, Buffer.alloc(0)),
  c("grpc a header with no message bytes", PUBLISH, GRPC, Buffer.from([0, 0, 0, 0, 9])),
  c("grpc incomplete envelope", PUBLISH, GRPC, grpcEnvelope(publish("t1", [{ data: bytes("x") }])).subarray(0, 9)),
  c(
    "grpc two envelopes",
    PUBLISH,
    GRPC,
    Buffer.concat([grpcEnvelope(publish("t1", [])), grpcEnvelope(publish("t1", []))]),
  ),
  c(
    "grpc second envelope does not parse",
    PUBLISH,
    GRPC,
    Buffer.concat([grpcEnvelope(publish("t1", [])), grpcEnvelope(Buffer.from([0x0a, 0xff]))]),
  ),
  c("grpc an envelope over the read limit", PUBLISH, GRPC, grpcEnvelope(Buffer.from("x"), 0, 0x7fff_ffff)),
  c(
    "grpc an envelope over the read limit, body following",
    PUBLISH,
    GRPC,
    grpcEnvelope(Buffer.alloc(4 << 20), 0, 0x7fff_ffff),
  ),
  c("grpc a compressed envelope without grpc-encoding", PUBLISH, GRPC, grpcEnvelope(publish("t1", []), 1)),
  c(
    "grpc gzip encoding (connect-node answers)",
    PUBLISH,
    { ...GRPC, "grpc-encoding": "gzip" },
    grpcEnvelope(publish("t1", []), 1),
  ),
  c(
    "grpc identity encoding",
    PUBLISH,
    { ...GRPC, "grpc-encoding": "identity" },
    grpcEnvelope(publish("t1", [{ data: bytes("i") }])),
  ),
  c("grpc a bad grpc-timeout", PUBLISH, { ...GRPC, "grpc-timeout": "soon" }, grpcEnvelope(publish("t1", []))),
  c(
    "grpc Publish past its deadline still publishes",
    PUBLISH,
    { ...GRPC, "grpc-timeout": "0m" },
    grpcEnvelope(publish("t1", [{ data: bytes("late") }])),
  ),
  c("grpc Pull past its deadline", PULL, { ...GRPC, "grpc-timeout": "0n" }, grpcEnvelope(pull("t1"))),
  c("grpc+json Publish", PUBLISH, GRPC_JSON, grpcEnvelope(bytes('{"topic":"t1","messages":[{"data":"aGk="}]}'))),
  c("grpc+json bad JSON", PUBLISH, GRPC_JSON, grpcEnvelope(bytes('{"topic":'))),
  c("grpc Pull of an empty message (a zero-length envelope)", PULL, GRPC, grpcEnvelope(Buffer.alloc(0))),
  c("grpc Pull leases", PULL, GRPC, grpcEnvelope(pull("t1", 3))),
  c("grpc Pull from a missing subscription", PULL, GRPC, grpcEnvelope(pull("nope"))),
  c("grpc Pull max_messages out of range", PULL, GRPC, grpcEnvelope(pull("t1", 100_000))),
  c("grpc Pull with a huge ack deadline", PULL, GRPC, grpcEnvelope(pull("t1", 1, { ackDeadlineMs: 2n ** 60n }))),
  c("grpc Ack nothing", ACK, GRPC, grpcEnvelope(ack("t1", []))),
  c("grpc Ack a malformed id", ACK, GRPC, grpcEnvelope(ack("t1", ["zzz"]))),
  c("grpc Ack an unknown message id", ACK, GRPC, grpcEnvelope(ack("t1", [], ["no-such-id"]))),
  c("grpc Ack by message id", ACK, GRPC, grpcEnvelope(ack("t1", [], ["a"]))),
  c(
    "grpc Nack by message id with a delay",
    NACK,
    GRPC,
    grpcEnvelope(
      toBinary(
        NackRequestSchema,
        create(NackRequestSchema, { subscription: "t1", messageIds: ["sy-1-1"], delayMs: 5n }),
      ),
    ),
  ),
  c(
    "grpc ModifyAckDeadline of a bad id",
    MODIFY,
    GRPC,
    grpcEnvelope(
      toBinary(
        ModifyAckDeadlineRequestSchema,
        create(ModifyAckDeadlineRequestSchema, { subscription: "t1", ackIds: ["1-1-1-0"], ackDeadlineMs: 1000n }),
      ),
    ),
  ),
  c(
    "grpc-web on HTTP/2 (connect-node answers)",
    PUBLISH,
    { "content-type": "application/grpc-web+proto" },
    grpcEnvelope(publish("t1", [])),
  ),
  c("text/plain (connect-node answers)", PUBLISH, { "content-type": "text/plain" }, bytes("hi")),
  c("no content type (connect-node answers)", PUBLISH, {}, bytes("hi")),
  c(
    "an unknown method (connect-node answers)",
    "/switchyard.v1.PublisherService/Nope",
    GRPC,
    grpcEnvelope(publish("t1", [])),
  ),
  c("a path with a query (connect-node answers)", `${PUBLISH}?x=1`, GRPC, grpcEnvelope(publish("t1", []))),
  c("connect proto Publish", PUBLISH, PROTO, publish("t1", [{ data: bytes("c") }])),
  c(
    "connect proto with an unknown field",
    PUBLISH,
    PROTO,
    Buffer.concat([publish("t1", [{ data: bytes("u") }]), UNKNOWN_FIELD]),
  ),
  c("connect proto does not parse", PUBLISH, PROTO, Buffer.from([0x0a, 0xff, 0xff])),
  c(
    "connect json Publish",
    PUBLISH,
    JSON_CT,
    bytes('{"topic":"t1","messages":[{"data":"aGk=","attributes":{"k":"v"}}]}'),
  ),
  c(
    "connect json with charset",
    PUBLISH,
    { "content-type": "application/json; charset=utf-8" },
    bytes('{"topic":"t1"}'),
  ),
  c(
    "connect json with an unknown field",
    PUBLISH,
    JSON_CT,
    bytes('{"topic":"t1","extra":1,"messages":[{"data":"aGk="}]}'),
  ),
  c("connect json that does not parse", PUBLISH, JSON_CT, bytes("{")),
  c("connect json of the wrong type", PUBLISH, JSON_CT, bytes('{"topic":5}')),
  c("connect json to a missing topic", PUBLISH, JSON_CT, bytes('{"topic":"nope","messages":[{"data":"aGk="}]}')),
  c("connect json BACKLOG_FULL", PUBLISH, JSON_CT, bytes('{"topic":"full","messages":[{"data":"aGk="}]}')),
  c("connect a bad connect-timeout-ms", PUBLISH, { ...JSON_CT, "connect-timeout-ms": "-1" }, bytes('{"topic":"t1"}')),
  c("connect Pull past its deadline", PULL, { ...JSON_CT, "connect-timeout-ms": "0" }, bytes('{"subscription":"t1"}')),
  c("connect json Pull", PULL, JSON_CT, bytes('{"subscription":"t1","maxMessages":2}')),
  c("connect proto Pull", PULL, PROTO, pull("t1", 2)),
  c("connect json Ack unknown ids", ACK, JSON_CT, bytes('{"subscription":"t1","messageIds":["x","y"]}')),
  c("connect json Nack nothing", NACK, JSON_CT, bytes('{"subscription":"t1"}')),
  c(
    "connect json ModifyAckDeadline on a missing subscription",
    MODIFY,
    JSON_CT,
    bytes('{"subscription":"nope","ackIds":["1-1-1-0"]}'),
  ),
  c("connect gzip (connect-node answers)", PUBLISH, { ...JSON_CT, "content-encoding": "gzip" }, bytes("{}")),
  c(
    "connect streaming content type (connect-node answers)",
    PUBLISH,
    { "content-type": "application/connect+json" },
    bytes("{}"),
  ),
  c("connect with a content-length promise", PUBLISH, { ...JSON_CT, "content-length": "14" }, bytes('{"topic":"t1"}')),
  c("connect json over the read limit", PUBLISH, JSON_CT, Buffer.alloc(18 * 1024 * 1024, 0x20)),
  c("connect a content-length over the read limit", PUBLISH, { ...JSON_CT, "content-length": "99999999" }, bytes("{}")),
  c(
    "connect with connect-protocol-version",
    PUBLISH,
    { ...JSON_CT, "connect-protocol-version": "1" },
    bytes('{"topic":"t1"}'),
  ),
];

describe("lean rpc - differential against connect-node", () => {
  let lean: TestServer;
  let plain: TestServer;
  let leanSession: http2.ClientHttp2Session;
  let plainSession: http2.ClientHttp2Session;

  before(async () => {
    const config = { maxMessageBytes: MAX_MESSAGE_BYTES };
    lean = await startTestServer({ config: { ...config, leanRpc: "on" }, clock });
    plain = await startTestServer({ config: { ...config, leanRpc: "off" }, clock });
    for (const server of [lean, plain]) {
      const session = await openSession(server.baseUrl);
      const admin = (path: string, json: string) =>
        rawRequest(session, { ":path": `/switchyard.v1.AdminService/${path}`, ...JSON_CT }, bytes(json));
      for (const res of [
        await admin("CreateTopic", '{"name":"t1","queue":true}'),
        await admin("CreateTopic", '{"name":"full","queue":true,"maxMessages":"1"}'),
      ]) {
        assert.equal(res.status, 200, res.body.toString());
      }
      session.close();
    }
    leanSession = await openSession(lean.baseUrl);
    plainSession = await openSession(plain.baseUrl);
  });

  after(async () => {
    leanSession?.close();
    plainSession?.close();
    await lean?.close();
    await plain?.close();
  });

  it("lean rpc - every corpus request gets the same response from both paths, and the same /metrics counts", async () => {
    assert.ok(corpus.length >= 60);
    const rpcCounters = async (server: TestServer) =>
      (await (await fetch(`${server.baseUrl}/metrics`)).text())
        .split("\n")
        .filter(
          (line) =>
            line.startsWith("switchyard_rpc_requests_total{") ||
            line.startsWith("switchyard_rpc_request_duration_seconds_count{"),
        )
        .filter((line) => !line.includes('service="switchyard.v1.AdminService"'))
        .sort();
    for (const k of corpus) {
      const a = await rawRequest(leanSession, k.headers, k.body);
      const b = await rawRequest(plainSession, k.headers, k.body);
      assert.deepEqual(a, b, `${k.name}: lean and connect-node differ`);
      if (process.env.DUMP)
        console.log(
          k.name,
          "=>",
          a.status,
          a.trailers["grpc-status"] ?? "",
          String(a.trailers["grpc-message"] ?? a.body.toString("utf8").slice(0, 90)),
          a.rstCode,
          a.hasDate,
        );
    }
    const counted = await rpcCounters(lean);
    assert.ok(
      counted.some((line) => /method="Publish".*code="ok"/.test(line)),
      counted.join("\n"),
    );
    assert.deepEqual(counted, await rpcCounters(plain), "the RPC metrics count the same calls the same way");
  });
});

describe("lean rpc - shutdown against connect-node", () => {
  it("lean rpc - long-polls in flight at shutdown end as connect-node ends them", async () => {
    const results: unknown[] = [];
    for (const leanRpc of ["on", "off"] as const) {
      const server = await startTestServer({ config: { leanRpc }, clock });
      const session = await openSession(server.baseUrl);
      try {
        const created = await rawRequest(
          session,
          { ":path": "/switchyard.v1.AdminService/CreateTopic", ...JSON_CT },
          bytes('{"name":"q","queue":true}'),
        );
        assert.equal(created.status, 200);
        const calls = [
          rawRequest(session, { ":path": PULL, ...GRPC }, grpcEnvelope(pull("q", 1, {}))),
          rawRequest(session, { ":path": PULL, ...JSON_CT }, bytes('{"subscription":"q","waitMs":30000}')),
          rawRequest(
            session,
            { ":path": PULL, ...GRPC, "grpc-timeout": "20S" },
            grpcEnvelope(toBinary(PullRequestSchema, create(PullRequestSchema, { subscription: "q", waitMs: 30_000 }))),
          ),
        ];
        await new Promise((resolve) => setTimeout(resolve, 200));
        const closed = server.close();
        results.push(await Promise.all(calls));
        await closed;
      } finally {
        session.destroy();
        await server.close();
      }
    }
    assert.deepEqual(results[0], results[1]);
    const [grpcEmpty, connectWaiting, grpcWaiting] = results[0] as {
      status: number;
      trailers: Record<string, string>;
    }[];
    assert.equal(grpcEmpty?.trailers["grpc-status"], "0", "a Pull without wait_ms answers at once");
    assert.equal(connectWaiting?.status, 503);
    assert.equal(grpcWaiting?.trailers["grpc-status"], "14");
  });
});
