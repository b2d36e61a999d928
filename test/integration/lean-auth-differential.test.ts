/**
 * With auth on, the lean unary path (its auth hook: src/server/auth-interceptor.ts) refuses and
 * permits exactly as connect-node does (`--lean-rpc off`): the auth matrix's users, every lean
 * unary method (Publish, Pull, Ack, Nack, ModifyAckDeadline) over gRPC and Connect, with good,
 * bad, malformed and padded credentials, twice (the second time from the authenticator's cache
 * of accepted values), then a peer that the failed-login throttle slows down. Every raw response
 * must be the same on both brokers: status, headers (`www-authenticate` included), body (the
 * ErrorDetail reason), trailers. Both brokers share a core clock that stands still and an auth
 * clock the test moves.
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
import { MATRIX_QUEUES, MATRIX_USERS } from "../helpers/auth-matrix.js";
import { grpcEnvelope, openSession, type RawResponse, rawRequest } from "../helpers/raw-h2.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { STILL_MS, stillClock } from "../helpers/still-clock.js";

const clock = stillClock();
/** The failed-login throttle's time: moved past any wait between cases, held still for the throttle case. */
let authNow = STILL_MS;
const authClock = stillClock(() => authNow);

const SVC = "/switchyard.v1.";
const GRPC = { "content-type": "application/grpc", te: "trailers" };
const PROTO = { "content-type": "application/proto" };

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** Who calls: the `authorization` header sent (none for `nobody`). */
const CALLERS: readonly [string, string | undefined][] = [
  ["nobody", undefined],
  ["an empty header", ""],
  ["a wrong password", basic("pub", "nope")],
  ["an unknown user", basic("mallory", "pub-pw")],
  ["a bad token", "Bearer tok-nope"],
  ["an unknown scheme", "Digest username=pub"],
  ["Basic, not base64", "Basic !!!"],
  ["Basic, no colon", `Basic ${Buffer.from("pub").toString("base64")}`],
  ["pub", basic("pub", "pub-pw")],
  ["pub's token, padded", "  Bearer tok-pub  "],
  ["sub (an scrypt hash)", basic("sub", "sub-pw")],
  ["reader (read_all)", basic("reader", "reader-pw")],
  ["admin's token", "Bearer tok-admin"],
  ["both", basic("both", "both-pw")],
];

/** The calls each caller makes: every lean unary method, allowed and refused topics and subscriptions. */
const CALLS: readonly [string, string, Uint8Array][] = [
  ...["orders", "orders.eu", "billing", "nosuch"].map(
    (topic) =>
      [
        `Publish ${topic}`,
        "PublisherService/Publish",
        toBinary(PublishRequestSchema, create(PublishRequestSchema, { topic, messages: [{ data: Buffer.from("m") }] })),
      ] as [string, string, Uint8Array],
  ),
  ...["orders", "billing", "nosuch"].flatMap((subscription) => [
    [
      `Pull ${subscription}`,
      "SubscriberService/Pull",
      toBinary(PullRequestSchema, create(PullRequestSchema, { subscription, maxMessages: 1 })),
    ] as [string, string, Uint8Array],
    [
      `Ack ${subscription}`,
      "SubscriberService/Ack",
      toBinary(AckRequestSchema, create(AckRequestSchema, { subscription, ackIds: ["bogus"] })),
    ] as [string, string, Uint8Array],
    [
      `Nack ${subscription}`,
      "SubscriberService/Nack",
      toBinary(NackRequestSchema, create(NackRequestSchema, { subscription, ackIds: ["bogus"] })),
    ] as [string, string, Uint8Array],
    [
      `ModifyAckDeadline ${subscription}`,
      "SubscriberService/ModifyAckDeadline",
      toBinary(
        ModifyAckDeadlineRequestSchema,
        create(ModifyAckDeadlineRequestSchema, { subscription, ackIds: ["bogus"], ackDeadlineMs: 1000n }),
      ),
    ] as [string, string, Uint8Array],
  ]),
];

/** One request in a protocol: gRPC (an envelope) or Connect (a bare message). */
function request(protocol: "grpc" | "connect", path: string, body: Uint8Array, authorization: string | undefined) {
  const headers: http2.OutgoingHttpHeaders = {
    ":path": `${SVC}${path}`,
    ...(protocol === "grpc" ? GRPC : PROTO),
    ...(authorization !== undefined ? { authorization } : {}),
  };
  return { headers, body: protocol === "grpc" ? grpcEnvelope(body) : body };
}

describe("lean auth - the lean path's auth hook against connect-node", () => {
  let lean: TestServer;
  let plain: TestServer;
  const sessions: http2.ClientHttp2Session[] = [];

  before(async () => {
    for (const leanRpc of ["on", "off"] as const) {
      const server = await startTestServer({ config: { leanRpc, users: MATRIX_USERS }, clock, authClock });
      const session = await openSession(server.baseUrl);
      for (const name of MATRIX_QUEUES) {
        const body = Buffer.from(JSON.stringify({ name, queue: true }));
        const headers = {
          ":path": `${SVC}AdminService/CreateTopic`,
          "content-type": "application/json",
          authorization: "Bearer tok-admin",
        };
        const res = await rawRequest(session, headers, body);
        assert.equal(res.status, 200, res.body.toString());
      }
      sessions.push(session);
      if (leanRpc === "on") lean = server;
      else plain = server;
    }
  });

  after(async () => {
    for (const s of sessions) s.close();
    await lean?.close();
    await plain?.close();
  });

  /** The same request to both brokers (lean first); both answers, asserted equal. */
  async function both(name: string, req: { headers: http2.OutgoingHttpHeaders; body: Uint8Array }) {
    const a = await rawRequest(sessions[0] as http2.ClientHttp2Session, req.headers, req.body);
    const b = await rawRequest(sessions[1] as http2.ClientHttp2Session, req.headers, req.body);
    assert.deepEqual(a, b, `${name}: lean and connect-node differ`);
    return a;
  }

  /** The gRPC status of an answer (Connect: the HTTP status). */
  const statusOf = (r: RawResponse) => String(r.trailers["grpc-status"] ?? r.headers["grpc-status"] ?? r.status);

  it("lean auth - every caller and lean unary method gets the same answer from both paths, cached or not", async () => {
    const seen = new Set<string>();
    for (const pass of ["first", "second (cached)"]) {
      for (const protocol of ["grpc", "connect"] as const) {
        for (const [who, authorization] of CALLERS) {
          for (const [what, path, body] of CALLS) {
            // Past any wait the failures so far earned: each case is judged on its credentials.
            authNow += 120_000;
            const r = await both(`${pass} ${protocol} ${who} ${what}`, request(protocol, path, body, authorization));
            seen.add(statusOf(r));
          }
        }
      }
    }
    // The cases reach every answer that matters: OK, NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED
    // (gRPC), and 200, 401, 403, 404 (Connect).
    for (const s of ["0", "5", "7", "16", "200", "401", "403", "404"]) assert.ok(seen.has(s), `no answer ${s}`);
    // The RPC metrics (the outermost interceptor, a hook too) count the calls alike (refusals of the
    // credentials come before the interceptors, from the check of the headers, on both paths).
    const rpcCounters = async (server: TestServer) =>
      (await (await fetch(`${server.baseUrl}/metrics`)).text())
        .split("\n")
        .filter((line) => line.startsWith("switchyard_rpc_requests_total{") && !line.includes("AdminService"))
        .sort();
    const counted = await rpcCounters(lean);
    assert.ok(
      counted.some((line) => /code="permission_denied"/.test(line)),
      counted.join("\n"),
    );
    assert.deepEqual(counted, await rpcCounters(plain));
  });

  it("lean auth - a peer slowed down by failed logins is refused alike, even with credentials accepted before", async () => {
    const publish = CALLS[0] as [string, string, Uint8Array];
    for (const protocol of ["grpc", "connect"] as const) {
      authNow += 3_600_000; // a fresh start: earlier failures forgotten
      const good = request(protocol, publish[1], publish[2], basic("pub", "pub-pw"));
      assert.equal(statusOf(await both(`${protocol} accepted`, good)), protocol === "grpc" ? "0" : "200");
      for (let i = 0; i < 7; i++) {
        await both(`${protocol} failure ${i}`, request(protocol, publish[1], publish[2], basic("pub", `bad-${i}`)));
      }
      const refused = await both(`${protocol} slowed down`, good);
      assert.equal(statusOf(refused), protocol === "grpc" ? "16" : "401");
      const text = String(refused.trailers["grpc-message"] ?? refused.body.toString("utf8"));
      assert.match(decodeURIComponent(text), /too many failed logins/);
    }
  });
});
