/**
 * The RPC port over HTTP/2, where the lean path (src/rpc/lean) serves the hot methods: gRPC and
 * Connect unary requests to the real server (startTestServer) over one HTTP/2 session, with
 * valid, mutated, random and JSON bodies, broken envelopes, odd headers and streams cut short;
 * what the lean path declines (compression, …) goes to connect-node, as in production. Also the
 * envelope splitter on its own: any chunking of any bytes.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import type { DescMessage, JsonValue } from "@bufbuild/protobuf";
import { ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import fc from "fast-check";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { EnvelopeSplitter } from "../../src/rpc/lean/grpc-envelopes.js";
import { type Logger, silentLogger } from "../../src/util/index.js";
import { ALL_BRIDGES_OFF, startTestServer } from "../helpers/start-test-server.js";
import { chunked, type Fuzzer } from "./fuzz-kit.js";
import { message, requestBody } from "./proto-json.js";

const METHODS = [
  PublisherService.method.publish,
  SubscriberService.method.pull,
  SubscriberService.method.ack,
  SubscriberService.method.nack,
  SubscriberService.method.modifyAckDeadline,
];
/** connect-es's answers to a body it cannot decode, which it (and the lean path, alike) sends as INTERNAL. */
const PROTOCOL_DECODE_FAULTS = /^(parse binary: |received compressed envelope)/;
const SERVER_FAULT_CODES = new Set(["internal", "unknown", "data_loss"]);
const GRPC_CODES: Record<string, string> = { "13": "internal", "2": "unknown", "15": "data_loss" };
/** A call still open after this long (a long-poll) is cancelled by the client. */
const CALL_TIMEOUT_MS = 30;
const READ_MAX_BYTES = 64 * 1024;

type Protocol = "grpc" | "grpc-json" | "connect-proto" | "connect-json";

function isServerFault(code: string, message: string): boolean {
  return SERVER_FAULT_CODES.has(code) && !PROTOCOL_DECODE_FAULTS.test(message);
}

function envelope(flags: number, data: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

const splitterCase = fc.record({
  kind: fc.constant("splitter" as const),
  envelopes: fc.array(fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 40 })), { maxLength: 6 }),
  garbage: fc.uint8Array({ maxLength: 12 }),
  cuts: fc.array(fc.nat(), { maxLength: 8 }),
});

const callCase = fc
  .record({
    kind: fc.constant("call" as const),
    method: fc.nat(METHODS.length - 1),
    protocol: fc.constantFrom<Protocol>("grpc", "grpc", "grpc-json", "connect-proto", "connect-json"),
    body: fc.constantFrom("valid", "valid", "mutated", "random", "json"),
    framing: fc.constantFrom("ok", "ok", "ok", "short", "long", "compressed", "twice", "garbage", "huge"),
    headers: fc.dictionary(
      fc.constantFrom(
        "grpc-timeout",
        "connect-timeout-ms",
        "connect-protocol-version",
        "grpc-encoding",
        "content-encoding",
      ),
      fc.constantFrom("1", "0", "-1", "99999999999", "10m", "1H", "identity", "gzip", "trailers", "x", ""),
      { maxKeys: 2 },
    ),
    flips: fc.array(fc.nat(), { maxLength: 3 }),
    random: fc.uint8Array({ maxLength: 48 }),
    cuts: fc.array(fc.nat(), { maxLength: 3 }),
    cancelEarly: fc.boolean(),
  })
  .chain((c) =>
    fc
      .tuple(message(METHODS[c.method]?.input as DescMessage) as fc.Arbitrary<JsonValue>, fc.json())
      .map(([valid, anyJson]) => ({
        ...c,
        json: c.body === "json" ? (JSON.parse(anyJson) as JsonValue) : valid,
      })),
  );

type CallCase = typeof callCase extends fc.Arbitrary<infer T> ? T : never;

export const rpcHttp2Fuzzer: Fuzzer = {
  name: "rpc-http2",
  description:
    "the RPC port over a real HTTP/2 session (lean path first, connect-node behind it): the hot methods over gRPC (binary, JSON) and Connect unary " +
    "(binary, JSON) with valid, mutated, random and JSON bodies, broken envelopes, odd headers, bodies cut " +
    "into chunks and streams cancelled early; no server fault, well-framed answers, nothing logged as an " +
    "error; and the envelope splitter gives back exactly the envelopes it was fed under any chunking",
  async start() {
    const failures: string[] = [];
    const record = (m: string, f?: Record<string, unknown>) =>
      failures.push(`${m} ${JSON.stringify(f, (_k, v) => (v instanceof Error ? `${v.name}: ${v.message}` : v))}`);
    const logger: Logger = { ...silentLogger, error: record };
    // The real server: the one-port listener, the lean path, connect-node behind it, the interceptors.
    const s = await startTestServer({
      logger,
      config: {
        maxMessageBytes: READ_MAX_BYTES / 2,
        ...ALL_BRIDGES_OFF,
      },
    });
    const admin = createClient(AdminService, createConnectTransport({ baseUrl: s.baseUrl, httpVersion: "1.1" }));
    let session: http2.ClientHttp2Session | undefined;
    const connect = () => {
      session = http2.connect(s.baseUrl);
      session.on("error", () => {});
      return session;
    };

    async function call(c: CallCase) {
      const method = METHODS[c.method] as (typeof METHODS)[number];
      const schema = method.input as DescMessage;
      const json = c.protocol.endsWith("json");
      const data = requestBody(schema, c, json);
      const grpc = c.protocol.startsWith("grpc");
      let body: Buffer<ArrayBufferLike> = Buffer.from(data);
      if (grpc) {
        const one = envelope(c.framing === "compressed" ? 1 : 0, data);
        if (c.framing === "short") one.writeUInt32BE(Math.max(0, data.length - 1), 1);
        if (c.framing === "long") one.writeUInt32BE(data.length + 7, 1);
        if (c.framing === "huge") one.writeUInt32BE(READ_MAX_BYTES + 1, 1);
        body =
          c.framing === "twice"
            ? Buffer.concat([one, one])
            : c.framing === "garbage"
              ? Buffer.concat([one, Buffer.of(1, 2)])
              : one;
      }
      const contentType = {
        grpc: "application/grpc",
        "grpc-json": "application/grpc+json",
        "connect-proto": "application/proto",
        "connect-json": "application/json",
      }[c.protocol];
      const s = session && !session.destroyed && !session.closed ? session : connect();
      const req = s.request({
        ":method": "POST",
        ":path": `/${method.parent.typeName}/${method.name}`,
        "content-type": contentType,
        ...(grpc ? { te: "trailers" } : { "connect-protocol-version": "1" }),
        ...c.headers,
      });
      req.on("error", () => {});
      let status = 0;
      let headers: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      const done = new Promise<"answered" | "cancelled">((resolve) => {
        const timer = setTimeout(() => {
          req.close(http2.constants.NGHTTP2_CANCEL);
          resolve("cancelled");
        }, CALL_TIMEOUT_MS);
        req.on("response", (h) => {
          headers = h;
          status = Number(h[":status"]);
        });
        req.on("trailers", (t) => {
          trailers = t;
        });
        req.on("data", (d: Buffer) => chunks.push(d));
        req.on("close", () => {
          clearTimeout(timer);
          resolve(status === 0 ? "cancelled" : "answered");
        });
      });
      const parts = chunked(body, c.cuts);
      for (const part of parts) req.write(part);
      if (c.cancelEarly && parts.length > 1) req.close(http2.constants.NGHTTP2_CANCEL);
      else req.end();
      if ((await done) === "cancelled") return;
      const out = Buffer.concat(chunks);
      if (grpc) {
        assert.notEqual(status, 500, "HTTP 500 on gRPC");
        const from = trailers["grpc-status"] !== undefined ? trailers : headers;
        const code = String(from["grpc-status"] ?? "");
        let msg = String(from["grpc-message"] ?? "");
        try {
          msg = decodeURIComponent(msg);
        } catch {}
        assert.ok(!isServerFault(GRPC_CODES[code] ?? code, msg), `gRPC status ${code}: ${msg}`);
        let at = 0;
        while (at + 5 <= out.length) at += 5 + out.readUInt32BE(at + 1);
        assert.equal(at, out.length, "whole envelopes");
      } else if (status !== 200) {
        if (out.length === 0) assert.notEqual(status, 500, "a bodiless 500");
        else {
          const err = JSON.parse(out.toString()) as { code?: string; message?: string };
          assert.ok(!isServerFault(err.code ?? "", err.message ?? ""), `Connect ${err.code}: ${err.message}`);
        }
      }
    }

    const property = fc.asyncProperty(fc.oneof(splitterCase, callCase), async (c) => {
      if (c.kind === "splitter") {
        const bytes = Buffer.concat([...c.envelopes.map(([f, d]) => envelope(f, d)), Buffer.from(c.garbage)]);
        const splitter = new EnvelopeSplitter(32);
        const got: { flags: number; data: string }[] = [];
        try {
          for (const part of chunked(bytes, c.cuts)) {
            for (const e of splitter.push(part))
              got.push({ flags: e.flags, data: Buffer.from(e.data).toString("hex") });
            assert.ok(splitter.byteLength <= bytes.length);
          }
          splitter.end();
        } catch (e) {
          assert.ok(e instanceof ConnectError, `a ConnectError, not ${e}`);
          return;
        }
        const fed = c.envelopes.map(([f, d]) => ({ flags: f, data: Buffer.from(d).toString("hex") }));
        assert.deepEqual(got.slice(0, fed.length), fed);
        return;
      }
      await call(c);
      assert.deepEqual(failures.splice(0), [], "nothing logged as an error");
    });
    return {
      property,
      async reset() {
        for (let more = true; more; ) {
          const { topics } = await admin.listTopics({ pageSize: 1000 });
          for (const t of topics) await admin.deleteTopic({ name: t.name }).catch(() => {});
          more = topics.length === 1000;
        }
      },
      async close() {
        session?.destroy();
        await s.close();
      },
    };
  },
};
