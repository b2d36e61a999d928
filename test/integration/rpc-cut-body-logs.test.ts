/**
 * A streaming call whose client goes (its connection destroyed) while the request body is still
 * coming: connect-node fails the call with Unknown ("Premature close"), a code that otherwise says
 * the server is at fault. The log interceptor (src/server/log-interceptor.ts) must not log it as a
 * warning (a client could write one line per connection), and must still log it at debug.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadRequestSchema } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscribeRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import { createTestClients } from "../helpers/clients.js";
import { grpcEnvelope } from "../helpers/raw-h2.js";
import { type LogLine, recordingLogger } from "../helpers/recording-logger.js";
import { ALL_BRIDGES_OFF, startTestServer } from "../helpers/start-test-server.js";

const read = grpcEnvelope(
  toBinary(
    ReadRequestSchema,
    create(ReadRequestSchema, { topic: "cut", from: { case: "fromSeq", value: 1n }, follow: true }),
  ),
);
const subscribe = grpcEnvelope(
  toBinary(SubscribeRequestSchema, create(SubscribeRequestSchema, { subscription: "cut" })),
);

const CALLS = [
  { path: "/switchyard.v1.ReplayService/Read", contentType: "application/grpc", body: read },
  { path: "/switchyard.v1.ReplayService/Read", contentType: "application/connect+proto", body: read },
  { path: "/switchyard.v1.SubscriberService/Subscribe", contentType: "application/grpc-web+proto", body: subscribe },
];

/** Opens the call, sends the first 3 bytes of its body, and destroys the connection. */
async function cutMidBody(baseUrl: string, call: (typeof CALLS)[number]): Promise<void> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  const req = session.request({
    ":method": "POST",
    ":path": call.path,
    "content-type": call.contentType,
    "connect-protocol-version": "1",
    te: "trailers",
  });
  req.on("error", () => {});
  req.resume();
  req.write(call.body.subarray(0, 3));
  await new Promise<void>((resolve) => session.once("remoteSettings", () => resolve()));
  await new Promise<void>((resolve) => setTimeout(resolve, 50));
  session.destroy();
}

test("rpc logs - a streaming call cut mid-body by its client is a debug line, not a warning", async () => {
  const { logger, lines } = recordingLogger();
  const s = await startTestServer({ logger, config: ALL_BRIDGES_OFF });
  const clients = createTestClients(s.baseUrl, "connect");
  try {
    await clients.admin.createTopic({ name: "cut" });
    await clients.admin.createSubscription({ subscription: { name: "cut", topic: "cut" } });
    lines.length = 0;
    for (const call of CALLS) await cutMidBody(s.baseUrl, call);
    const finished = (): LogLine[] => lines.filter(([level, message]) => level === "debug" && message === "rpc");
    const deadline = Date.now() + 5_000;
    while (finished().length < CALLS.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      finished().map(([, , f]) => [f?.method, f?.code]),
      CALLS.map((c) => [c.path.slice(1), "Unknown"]),
      "each cut call is logged once at debug, with connect-node's code",
    );
    assert.deepEqual(
      lines.filter(([level]) => level === "warn" || level === "error"),
      [],
      "no warning or error for a client that left",
    );
    // The broker still serves.
    assert.equal((await clients.admin.getStats({})).$typeName, "switchyard.v1.GetStatsResponse");
  } finally {
    clients.close();
    await s.close();
  }
});
