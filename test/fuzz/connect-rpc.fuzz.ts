/**
 * The RPC port's request decoding: Connect (unary JSON and binary, streaming envelopes), gRPC and
 * gRPC-web bodies and headers, sent to every method of every service through the server's own
 * Connect router and interceptors (the universal handlers that connectNodeAdapter runs), on an
 * in-memory broker.
 */
import assert from "node:assert/strict";
import { type DescMessage, fromBinary, type JsonValue } from "@bufbuild/protobuf";
import { type ConnectRouter, createConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler } from "@connectrpc/connect/protocol";
import fc from "fast-check";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { createBroker } from "../../src/core/index.js";
import { ALL_REASONS } from "../../src/errors/index.js";
import { registerBrokerServices, registerHealth, registerReflection } from "../../src/rpc/index.js";
import { createServerInterceptors } from "../../src/server/interceptors.js";
import { createMemoryStore, type Store } from "../../src/store/index.js";
import { type Logger, silentLogger } from "../../src/util/index.js";
import type { Fuzzer } from "./fuzz-kit.js";
import { message, requestBody } from "./proto-json.js";

/** Codes a client's input must never cause: they say the server failed. */
const SERVER_FAULTS = new Set(["internal", "unknown", "data_loss"]);
/**
 * connect-es's own answers to a body it cannot decode, which it sends as INTERNAL (as grpc-go
 * does for a request it cannot unmarshal). They come from the protocol layer before any service
 * code runs; the README lists them under "Limits and failure behaviour".
 */
const PROTOCOL_DECODE_FAULTS = /^(parse binary: |received compressed envelope)/;
const REASONS = new Set<string>(ALL_REASONS);
/** Each call is cut off after this long (long-polls and streams wait for messages that never come). */
const CALL_TIMEOUT_MS = 10;

type Protocol = "connect-json" | "connect-proto" | "connect-stream-json" | "connect-stream-proto" | "grpc" | "grpc-web";

function envelope(flags: number, data: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(data.length, 1);
  return Buffer.concat([head, data]);
}

/** How a case's body is made. */
type BodyKind = "valid" | "mutated" | "random" | "json";

interface Case {
  method: number;
  protocol: Protocol;
  body: BodyKind;
  json: JsonValue;
  randomBytes: Uint8Array;
  /** Envelope framing faults: none, wrong length, compressed flag, two envelopes, trailing garbage. */
  framing: "ok" | "short" | "long" | "compressed" | "twice" | "garbage" | "end-flag";
  headers: Record<string, string>;
}

function isServerFault(code: string, message: string): boolean {
  return SERVER_FAULTS.has(code) && !PROTOCOL_DECODE_FAULTS.test(message);
}

function checkConnectError(text: string): void {
  let err: { code?: string; message?: string; details?: { type?: string; value?: string }[] };
  try {
    err = JSON.parse(text);
  } catch {
    assert.fail(`a Connect error body that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  assert.ok(!isServerFault(err.code ?? "", err.message ?? ""), `server fault ${err.code}: ${text.slice(0, 300)}`);
  for (const d of err.details ?? []) {
    if (d.type !== "switchyard.v1.ErrorDetail" || d.value === undefined) continue;
    const detail = fromBinary(ErrorDetailSchema, Buffer.from(d.value, "base64"));
    assert.ok(REASONS.has(detail.reason), `unknown reason ${detail.reason}`);
  }
}

/** A non-200 answer: a Connect error body (JSON), or a bodiless protocol refusal that is not a 500. */
function checkHttpError(status: number, body: Buffer): void {
  if (body.length > 0) checkConnectError(body.toString());
  else assert.notEqual(status, 500, "a bodiless HTTP 500");
}

function checkGrpcStatus(status: string, encodedMessage: string): void {
  let message = encodedMessage;
  try {
    message = decodeURIComponent(encodedMessage);
  } catch {}
  const code = { "13": "internal", "2": "unknown", "15": "data_loss" }[status] ?? status;
  assert.ok(!isServerFault(code, message), `gRPC status ${status}: ${message}`);
}

/** Splits an enveloped body; the last envelope of a Connect stream or gRPC-web body is the end. */
function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  let at = 0;
  while (at + 5 <= body.length) {
    const len = body.readUInt32BE(at + 1);
    out.push({ flags: body[at] as number, data: body.subarray(at + 5, at + 5 + len) });
    at += 5 + len;
  }
  assert.equal(at, body.length, "the response body is whole envelopes");
  return out;
}

export const connectRpcFuzzer: Fuzzer = {
  name: "connect-rpc",
  description:
    "RPC port decoding: every method of every service, over Connect unary (JSON, binary), Connect streaming, " +
    "gRPC and gRPC-web, with valid, mutated, random and JSON bodies, broken envelopes and odd headers " +
    "(timeouts, encodings, content types); the answer is never a server fault (internal, unknown, " +
    "data_loss), every ErrorDetail reason is one of src/errors/reasons.ts, and response bodies are well framed",
  async start() {
    let store: Store;
    let handlers: UniversalHandler[] = [];
    let closeBroker: () => Promise<void> = async () => {};
    const shutdown = new AbortController();
    const failures: string[] = [];
    const logger: Logger = { ...silentLogger, error: (m) => failures.push(m) };
    async function open(): Promise<void> {
      store = createMemoryStore();
      const broker = createBroker({ store, logger });
      const router: ConnectRouter = createConnectRouter({
        interceptors: createServerInterceptors({ shutdownSignal: shutdown.signal, logger }),
        acceptCompression: [],
        readMaxBytes: 17 * 1024 * 1024,
        shutdownSignal: shutdown.signal,
      });
      registerBrokerServices(router, { broker, logger });
      registerHealth(router, { shutdownSignal: shutdown.signal, services: [] });
      registerReflection(router, []);
      handlers = router.handlers;
      closeBroker = async () => {
        await broker.close();
        await store.close();
      };
    }
    await open();
    const methods = handlers.map((h) => h.method);
    const inputs = methods.map((m) => message(m.input as DescMessage));

    const caseArb: fc.Arbitrary<Case> = fc
      .record({
        method: fc.nat(methods.length - 1),
        protocol: fc.constantFrom<Protocol>(
          "connect-json",
          "connect-proto",
          "connect-stream-json",
          "connect-stream-proto",
          "grpc",
          "grpc-web",
        ),
        body: fc.constantFrom<BodyKind>("valid", "valid", "mutated", "random", "json"),
        randomBytes: fc.uint8Array({ maxLength: 64 }),
        framing: fc.constantFrom<Case["framing"]>(
          "ok",
          "ok",
          "ok",
          "short",
          "long",
          "compressed",
          "twice",
          "garbage",
          "end-flag",
        ),
        headers: fc.dictionary(
          fc.constantFrom(
            "connect-timeout-ms",
            "grpc-timeout",
            "content-encoding",
            "connect-content-encoding",
            "grpc-encoding",
            "connect-protocol-version",
            "te",
          ),
          fc.constantFrom("1", "0", "-1", "99999999999", "10m", "1H", "gzip", "br", "identity", "x", "trailers", ""),
          { maxKeys: 2 },
        ),
        json: fc.constant(null as JsonValue),
      })
      .chain((c) =>
        fc.tuple(inputs[c.method] as fc.Arbitrary<JsonValue>, fc.json()).map(([valid, randomJson]) => ({
          ...c,
          json: c.body === "json" ? (JSON.parse(randomJson) as JsonValue) : valid,
        })),
      );
    /** Bit flips of a mutated body, at these offsets (modulo its length). */
    const withFlips = fc.tuple(caseArb, fc.array(fc.nat(), { maxLength: 3 }));

    const property = fc.asyncProperty(withFlips, async ([c, flips]) => {
      const handler = handlers[c.method] as UniversalHandler;
      const schema = handler.method.input as DescMessage;
      const isJson = c.protocol === "connect-json" || c.protocol === "connect-stream-json";
      const data = requestBody(schema, { ...c, random: c.randomBytes, flips }, isJson);
      const unary = c.protocol === "connect-json" || c.protocol === "connect-proto";
      let body: Buffer;
      if (unary) body = Buffer.from(data);
      else {
        const endFlag = c.protocol.startsWith("connect-stream") ? 0x02 : 0x80;
        const one = envelope(c.framing === "compressed" ? 0x01 : c.framing === "end-flag" ? endFlag : 0, data);
        if (c.framing === "short") one.writeUInt32BE(Math.max(0, data.length - 1), 1);
        if (c.framing === "long") one.writeUInt32BE(data.length + 7, 1);
        body =
          c.framing === "twice"
            ? Buffer.concat([one, one])
            : c.framing === "garbage"
              ? Buffer.concat([one, Buffer.of(1, 2)])
              : one;
      }
      const contentType = {
        "connect-json": "application/json",
        "connect-proto": "application/proto",
        "connect-stream-json": "application/connect+json",
        "connect-stream-proto": "application/connect+proto",
        grpc: "application/grpc",
        "grpc-web": "application/grpc-web+proto",
      }[c.protocol];
      const header = new Headers({ "content-type": contentType, ...c.headers });
      if (c.protocol.startsWith("connect") && !("connect-protocol-version" in c.headers))
        header.set("connect-protocol-version", "1");
      const signal = AbortSignal.timeout(CALL_TIMEOUT_MS);
      const res = await handler({
        httpVersion: c.protocol === "grpc" ? "2.0" : "1.1",
        method: "POST",
        url: `http://fuzz${handler.requestPath}`,
        header,
        body: (async function* () {
          yield body;
        })(),
        signal,
      });
      const chunks: Uint8Array[] = [];
      if (res.body) for await (const chunk of res.body) chunks.push(chunk);
      const out = Buffer.concat(chunks);
      if (c.protocol.startsWith("connect") && unary) {
        if (res.status !== 200) checkHttpError(res.status, out);
      } else if (c.protocol.startsWith("connect-stream")) {
        if (res.status === 200) {
          const last = envelopes(out).at(-1);
          assert.ok(last && (last.flags & 0x02) !== 0, "a Connect stream ends with an end-stream envelope");
          const end = JSON.parse(last.data.toString()) as { error?: unknown };
          if (end.error) checkConnectError(JSON.stringify(end.error));
        } else checkHttpError(res.status, out);
      } else if (c.protocol === "grpc") {
        if (res.status === 200) {
          envelopes(out);
          const from = res.trailer?.has("grpc-status") ? res.trailer : res.header;
          checkGrpcStatus(from?.get("grpc-status") ?? "", from?.get("grpc-message") ?? "");
        }
      } else if (res.status === 200) {
        const trailer =
          envelopes(out)
            .find((e) => (e.flags & 0x80) !== 0)
            ?.data.toString() ?? "";
        const field = (name: string) => new RegExp(`^${name}:\\s*(.*?)\\r?$`, "im").exec(trailer)?.[1];
        checkGrpcStatus(
          field("grpc-status") ?? res.header?.get("grpc-status") ?? "",
          field("grpc-message") ?? res.header?.get("grpc-message") ?? "",
        );
      }
      assert.deepEqual(failures.splice(0), [], "nothing logged as an error");
    });
    return {
      property,
      async reset() {
        await closeBroker();
        await open();
      },
      async close() {
        shutdown.abort();
        await closeBroker();
      },
    };
  },
};
