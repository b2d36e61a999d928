/**
 * Client resets on the RPC port's connect-node path (src/server/connect-adapter.ts): streams of
 * Read (gRPC and Connect), gRPC-web Subscribe and a Connect unary method reset by the client with
 * error codes (RST_STREAM) at its headers, in its body, or while the server waits to write the
 * response (a client that stopped reading), and sessions that go with an error code mid-call.
 * connect-node wrote a `handler for rpc … failed` stack to stderr with console.error for each
 * reset of a response whose write waited for flow control; here nothing reaches stderr, nothing
 * is logged as an error or a warning (debug lines are rate-limited), the resets are counted in
 * `switchyard_rpc_streams_reset_total`, and the broker still serves.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { ReadRequestSchema } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscribeRequestSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Logger } from "../../src/util/index.js";
import { createTestClients } from "../helpers/clients.js";
import { scrape } from "../helpers/prometheus.js";
import { grpcEnvelope } from "../helpers/raw-h2.js";
import { ALL_BRIDGES_OFF, startTestServer } from "../helpers/start-test-server.js";

const TOPIC = "resets";
const MESSAGES = 120;
/** Codes the client resets with: errors (each made the write fail with INTERNAL), CANCEL, an unknown one. */
const CODES = [
  http2.constants.NGHTTP2_INTERNAL_ERROR,
  http2.constants.NGHTTP2_PROTOCOL_ERROR,
  http2.constants.NGHTTP2_FLOW_CONTROL_ERROR,
  http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
  http2.constants.NGHTTP2_CANCEL,
  14,
];
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Call {
  name: string;
  headers: http2.OutgoingHttpHeaders;
  body: () => Buffer;
  /** A server stream: its response never ends on its own, so a reset after its headers is counted. */
  stream: boolean;
}

function connectEnvelope(data: Uint8Array): Buffer {
  return grpcEnvelope(data); // the Connect streaming envelope has the same layout
}

const read = toBinary(
  ReadRequestSchema,
  create(ReadRequestSchema, { topic: TOPIC, from: { case: "fromSeq", value: 1n }, follow: true, maxMessages: 1 }),
);
let subscriptions = 0;
const CALLS: Call[] = [
  {
    name: "Read (gRPC)",
    headers: { ":path": "/switchyard.v1.ReplayService/Read", "content-type": "application/grpc", te: "trailers" },
    body: () => grpcEnvelope(read),
    stream: true,
  },
  {
    name: "Read (Connect)",
    headers: {
      ":path": "/switchyard.v1.ReplayService/Read",
      "content-type": "application/connect+proto",
      "connect-protocol-version": "1",
    },
    body: () => connectEnvelope(read),
    stream: true,
  },
  {
    name: "Subscribe (gRPC-web)",
    headers: {
      ":path": "/switchyard.v1.SubscriberService/Subscribe",
      "content-type": "application/grpc-web+proto",
      "x-grpc-web": "1",
    },
    // Each call its own subscription: every one has the whole backlog to send.
    body: () =>
      grpcEnvelope(
        toBinary(
          SubscribeRequestSchema,
          create(SubscribeRequestSchema, { subscription: `${TOPIC}-${subscriptions++}`, maxOutstandingMessages: 1000 }),
        ),
      ),
    stream: true,
  },
  {
    name: "GetStats (Connect unary)",
    headers: {
      ":path": "/switchyard.v1.AdminService/GetStats",
      "content-type": "application/proto",
      "connect-protocol-version": "1",
    },
    body: () => Buffer.alloc(0),
    stream: false,
  },
];
const SUBSCRIPTIONS = CODES.length * 3 + 2;

/** Records what is written to stderr and console.error until restored. */
function spyStderr(): { written: () => string[]; restore: () => void } {
  const written: string[] = [];
  const write = process.stderr.write;
  const consoleError = console.error;
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    written.push(String(chunk));
    return (write as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
  }) as typeof process.stderr.write;
  console.error = (...args: unknown[]) => {
    written.push(args.map(String).join(" "));
  };
  return {
    written: () => written,
    restore() {
      process.stderr.write = write;
      console.error = consoleError;
    },
  };
}

/** A session whose client reads nothing past a 64-byte window: the server's writes wait for it. */
async function stalledSession(baseUrl: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(baseUrl, { settings: { initialWindowSize: 64 } });
  session.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  return session;
}

function open(session: http2.ClientHttp2Session, call: Call): http2.ClientHttp2Stream {
  const req = session.request({ ":method": "POST", ...call.headers });
  req.on("error", () => {});
  req.pause(); // never read: the response stays behind the window
  return req;
}

const responded = (req: http2.ClientHttp2Stream) =>
  new Promise<boolean>((resolve) => {
    req.once("response", () => resolve(true));
    req.once("close", () => resolve(false));
  });

test("rpc http2 - client resets and lost sessions write nothing to stderr, are counted, and the broker serves on", async (t) => {
  const errors: string[] = [];
  const warnings: string[] = [];
  let debugLines = 0;
  const logger: Logger = {
    info() {},
    warn: (m, f) => warnings.push(`${m} ${JSON.stringify(f)}`),
    error: (m, f) => errors.push(`${m} ${String(f?.error ?? "")}`),
    debug: (m) => {
      if (m.startsWith("rpc response not written")) debugLines++;
    },
    debugEnabled: () => true,
  };
  const s = await startTestServer({ logger, config: ALL_BRIDGES_OFF });
  t.after(() => s.close());
  const c = createTestClients(s.baseUrl, "connect");
  t.after(() => c.close());
  await c.admin.createTopic({ name: TOPIC });
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    await c.admin.createSubscription({
      subscription: { name: `${TOPIC}-${i}`, topic: TOPIC, start: { at: { case: "earliest", value: true } } },
    });
  }
  const data = Buffer.alloc(1000, 0x61);
  await c.publisher.publish({ topic: TOPIC, messages: Array.from({ length: MESSAGES }, () => ({ data })) });
  // Enough topics that GetStats' answer is larger than the client's window too.
  for (let i = 0; i < 20; i++) await c.admin.createTopic({ name: `${TOPIC}-padding-with-a-long-name-${i}` });

  const stderr = spyStderr();
  let expected = 0;
  try {
    const session = await stalledSession(s.baseUrl);
    for (const code of CODES) {
      for (const call of CALLS) {
        // At its headers, in its body, and while the server waits to write its response.
        const early = open(session, call);
        early.close(code);
        const partial = open(session, call);
        partial.write(call.body().subarray(0, 3));
        const late = open(session, call);
        late.end(call.body());
        const answered = await responded(late);
        assert.ok(answered, `${call.name}: the response started`);
        await sleep(30); // the server fills the window and its stream buffer, then waits
        partial.close(code);
        late.close(code);
        if (call.stream) expected++;
      }
    }
    // Sessions that go with an error code (GOAWAY, then destroy) while responses wait. Every
    // request body is complete first: Node 20's client itself runs away on a GOAWAY with a body
    // still open beside another stream (test/fuzz/h2-hostile.fuzz.ts).
    for (const code of [http2.constants.NGHTTP2_INTERNAL_ERROR, http2.constants.NGHTTP2_PROTOCOL_ERROR]) {
      const lost = await stalledSession(s.baseUrl);
      const reqs = CALLS.map((call) => {
        const req = open(lost, call);
        req.end(call.body());
        return req;
      });
      await Promise.all(reqs.map(responded));
      await sleep(30);
      lost.destroy(new Error("client gone"), code);
    }
    await sleep(200);
    session.destroy();
    await sleep(100);
  } finally {
    stderr.restore();
  }
  assert.deepEqual(stderr.written(), [], "nothing written to stderr");
  assert.deepEqual(errors, [], "nothing logged as an error");
  // (A session the client closes with an error code is its doing too: debug, not a warning.)
  assert.deepEqual(warnings, [], "nothing logged as a warning");
  // One line a second at most (the resets take about two seconds).
  assert.ok(debugLines >= 1 && debugLines <= 4, `debug lines are rate-limited (${debugLines})`);

  const m = await scrape(`${s.baseUrl}/metrics`);
  const counted = (name: string) => m.value("switchyard_rpc_streams_reset_total", { error_code: name });
  for (const name of ["internal_error", "protocol_error", "flow_control_error", "enhance_your_calm", "cancel"]) {
    assert.ok(counted(name) >= 3, `${name}: ${counted(name)} resets counted`);
  }
  assert.ok(counted("unknown") >= 3, `unknown codes: ${counted("unknown")} resets counted`);
  let total = 0;
  for (const sample of m.family("switchyard_rpc_streams_reset_total").metrics) total += Number(sample.value);
  assert.ok(total >= expected, `${total} resets counted, ${expected} at least`);

  // The broker serves on: a publish, and a Read of what is there.
  await c.publisher.publish({ topic: TOPIC, messages: [{ data: Buffer.from("after") }] });
  let last = "";
  for await (const r of c.replay.read({ topic: TOPIC, from: { case: "fromSeq", value: BigInt(MESSAGES + 1) } })) {
    for (const msg of r.messages) last = Buffer.from(msg.data).toString();
  }
  assert.equal(last, "after");
});
