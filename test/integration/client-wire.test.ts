/**
 * createSwitchyardTransport (src/client/) against connect-node's Connect transport on a raw
 * `node:http2` server that answers what each case asks (real sockets): HTTP statuses without a
 * Connect body, Connect JSON error bodies (with details, bad JSON, unknown codes), wrong content
 * types and encodings, short and malformed bodies, trailers as `trailer-` headers, resets,
 * deadlines, aborts with a reason, request headers and request compression. Both transports must
 * give the same outcome; each case also pins the expected code.
 */
import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it, type TestContext } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { compressionGzip, createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { PublisherService, PublishResponseSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { createSwitchyardTransport, type SwitchyardTransportOptions } from "../../src/client/index.js";

const OK_BODY = Buffer.from(
  toBinary(PublishResponseSchema, create(PublishResponseSchema, { results: [{ seq: 7n, id: "m" }] })),
);
const DETAIL = Buffer.from(
  toBinary(ErrorDetailSchema, create(ErrorDetailSchema, { reason: "BACKLOG_FULL", metadata: { topic: "t" } })),
);
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** What the server answers per `x-case` request header: status, headers, body (or an action). */
const CASES: Record<
  string,
  { status?: number; headers?: http2.OutgoingHttpHeaders; body?: Buffer; act?: "reset" | "hang" }
> = {
  ok: { headers: { "content-type": "application/proto", "x-h": "1", "trailer-x-t": "2" }, body: OK_BODY },
  "503-plain": { status: 503, body: Buffer.from("busy") },
  "429-json-detail": {
    status: 429,
    headers: { "content-type": "application/json", "trailer-x-t": "3" },
    body: json({
      code: "resource_exhausted",
      message: "slow down",
      details: [{ type: "switchyard.v1.ErrorDetail", value: DETAIL.toString("base64") }],
    }),
  },
  "500-bad-json": { status: 500, headers: { "content-type": "application/json" }, body: Buffer.from("{not json") },
  "404-unknown-code": {
    status: 404,
    headers: { "content-type": "application/json" },
    body: json({ code: "nonsense", message: "m" }),
  },
  "400-proto": { status: 400, headers: { "content-type": "application/proto" }, body: Buffer.from("x") },
  "200-json": { headers: { "content-type": "application/json" }, body: json({}) },
  "200-no-type": { body: OK_BODY },
  "200-gzip": { headers: { "content-type": "application/proto", "content-encoding": "gzip" }, body: gzipSync(OK_BODY) },
  "200-short": { headers: { "content-type": "application/proto", "content-length": "100" }, body: OK_BODY },
  "200-bad-proto": { headers: { "content-type": "application/proto" }, body: Buffer.from([0xff, 0xff, 0xff]) },
  reset: { act: "reset" },
  hang: { act: "hang" },
};

/** The raw server; `requests` records each request's headers and (gunzipped) body. */
async function rawServer(t: TestContext) {
  const requests: { headers: http2.IncomingHttpHeaders; body: Buffer }[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const raw = Buffer.concat(chunks);
      requests.push({ headers, body: headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw });
      const c = CASES[String(headers["x-case"] ?? "ok")]!;
      if (c.act === "reset") return stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      if (c.act === "hang") return;
      stream.respond({ ":status": c.status ?? 200, ...c.headers });
      stream.end(c.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const closers: (() => void)[] = [];
  t.after(async () => {
    for (const c of closers) c();
    await new Promise((resolve) => server.close(resolve));
  });
  const both = (options: Omit<SwitchyardTransportOptions, "baseUrl"> = {}): [Transport, Transport] => {
    const lean = createSwitchyardTransport({ baseUrl, ...options });
    const sessionManager = new Http2SessionManager(baseUrl);
    const node = createConnectTransport({
      acceptCompression: [],
      ...options,
      baseUrl,
      httpVersion: "2",
      sessionManager,
    });
    closers.push(
      () => lean.close(),
      () => sessionManager.abort(),
    );
    return [lean, node];
  };
  return { requests, both };
}

/** A call's outcome as data: the answer with its header and trailer, or the error. */
async function outcome(transport: Transport, options: Parameters<ReturnType<typeof publisher>["publish"]>[1] = {}) {
  const meta: Record<string, [string, string][]> = {};
  try {
    const res = await publisher(transport).publish(
      { topic: "t", messages: [{ data: new Uint8Array(64).fill(1) }] },
      {
        ...options,
        onHeader: (h) => {
          meta.header = [...h.entries()].filter(([k]) => k !== "date");
        },
        onTrailer: (h) => {
          meta.trailer = [...h.entries()];
        },
      },
    );
    return { ok: res.results.map((r) => [r.seq, r.id]), ...meta };
  } catch (e) {
    assert.ok(e instanceof ConnectError, String(e));
    return {
      code: Code[e.code],
      message: e.rawMessage,
      details: e.findDetails(ErrorDetailSchema).map((d) => [d.reason, { ...d.metadata }]),
      metadata: [...e.metadata.entries()].filter(([k]) => k !== "date"),
    };
  }
}
const publisher = (t: Transport) => createClient(PublisherService, t);

async function same(transports: [Transport, Transport], options: Parameters<typeof outcome>[1] = {}) {
  const got = [await outcome(transports[0], options), await outcome(transports[1], options)];
  assert.deepEqual(got[0], got[1]);
  return got[0]!;
}

describe("client wire", () => {
  it("client - statuses, error bodies, content types, bodies and trailers map alike", async (t) => {
    const { both } = await rawServer(t);
    const transports = both();
    const expected: Record<string, string> = {
      "503-plain": "Unavailable HTTP 503",
      "429-json-detail": "ResourceExhausted slow down",
      "500-bad-json": "Unknown HTTP 500",
      "404-unknown-code": "Unimplemented m",
      "400-proto": "Internal HTTP 400",
      "200-json": "Internal unsupported content type application/json",
      "200-no-type": "Unknown unsupported content type null",
      "200-gzip": 'Internal unsupported response encoding "gzip"',
      // nghttp2 itself resets a stream whose DATA does not match its content-length.
      "200-short": "Internal Stream closed with error code NGHTTP2_PROTOCOL_ERROR",
      "200-bad-proto": "Internal parse binary: ",
      reset: "Internal Stream closed with error code NGHTTP2_REFUSED_STREAM",
    };
    for (const [name, want] of Object.entries(expected)) {
      const got = await same(transports, { headers: { "x-case": name } });
      assert.ok("code" in got, name);
      assert.ok(`${got.code} ${got.message}`.startsWith(want), `${name}: ${got.code} ${got.message}`);
    }
    const detailed = await same(transports, { headers: { "x-case": "429-json-detail" } });
    assert.deepEqual(detailed.details, [["BACKLOG_FULL", { topic: "t" }]]);
    assert.deepEqual(
      detailed.metadata?.find(([k]) => k === "x-t"),
      ["x-t", "3"],
    );
    const ok = await same(transports);
    assert.deepEqual(ok, {
      ok: [[7n, "m"]],
      header: [
        ["content-type", "application/proto"],
        ["x-h", "1"],
      ],
      trailer: [["x-t", "2"]],
    });
    const gzipped = await same(both({ acceptCompression: [compressionGzip] }), { headers: { "x-case": "200-gzip" } });
    assert.deepEqual(gzipped, {
      ok: [[7n, "m"]],
      header: [
        ["content-encoding", "gzip"],
        ["content-type", "application/proto"],
      ],
      trailer: [],
    });
  });

  it("client - deadlines and aborts with a reason on a call that never answers", async (t) => {
    const { both } = await rawServer(t);
    const transports = both();
    const hang = { "x-case": "hang" };
    assert.deepEqual(await same(transports, { headers: hang, timeoutMs: 100 }), {
      code: "DeadlineExceeded",
      message: "the operation timed out",
      details: [],
      metadata: [],
    });
    assert.equal((await same(both({ defaultTimeoutMs: 100 }), { headers: hang })).code, "DeadlineExceeded");
    const stop = () => AbortSignal.abort(new Error("stop"));
    assert.deepEqual(await same(transports, { headers: hang, signal: stop() }), {
      code: "Canceled",
      message: "stop",
      details: [],
      metadata: [],
    });
    const later = () => {
      const c = new AbortController();
      setTimeout(() => c.abort(new Error("later")), 50);
      return c.signal;
    };
    assert.equal((await same(transports, { headers: hang, signal: later() })).message, "later");
    // Many calls on one signal (the lean transport keeps one listener per signal): all end.
    for (const tr of transports) {
      const shared = later();
      const calls = await Promise.all([1, 2, 3].map(() => outcome(tr, { headers: hang, signal: shared })));
      assert.deepEqual(
        calls.map((c) => c.message),
        ["later", "later", "later"],
      );
      assert.equal((await outcome(tr, { headers: hang, signal: shared })).message, "later");
    }
  });

  it("client - request headers and compressed requests are the same on the wire", async (t) => {
    const { requests, both } = await rawServer(t);
    const sent = [];
    for (const options of [{}, { sendCompression: compressionGzip, compressMinBytes: 10 }]) {
      for (const tr of both(options)) {
        requests.length = 0;
        await outcome(tr, { headers: { "x-user": "u", "x-case": "ok" }, timeoutMs: 5000 });
        await outcome(tr);
        sent.push(
          requests.map((r) => ({ ...r.headers })),
          requests.map((r) => r.body.toString("hex")),
        );
      }
    }
    assert.deepEqual(sent[0], sent[2]);
    assert.deepEqual(sent[1], sent[3]);
    assert.deepEqual(sent[4], sent[6]);
    assert.deepEqual(sent[5], sent[7]);
    const [withUser, plain] = sent[0] as http2.IncomingHttpHeaders[];
    assert.equal(withUser!["connect-timeout-ms"], "5000");
    assert.equal(withUser!["x-user"], "u");
    assert.equal(plain!["content-type"], "application/proto");
    assert.equal(plain!["connect-protocol-version"], "1");
    assert.match(String(plain!["user-agent"]), /^connect-es\//);
    assert.equal((sent[4] as http2.IncomingHttpHeaders[])[0]!["content-encoding"], "gzip");
    assert.deepEqual(sent[5], sent[1]);
  });
});
