/** The OPQ bridge's HTTP handler: push and replay forms (URL-encoded, multipart, query), any framing. */
import assert from "node:assert/strict";
import type { RequestListener } from "node:http";
import fc from "fast-check";
import { createOpqBridge } from "../../src/bridges/opq/index.js";
import { recordMetrics } from "../helpers/okq-harness.js";
import { startFuzzBroker } from "./fuzz-broker.js";
import type { Fuzzer } from "./fuzz-kit.js";
import {
  createInMemoryHttp,
  formFields,
  framings,
  multipart,
  rawRequest,
  sendExpectingResponse,
  urlEncoded,
} from "./http-kit.js";

/** The only push target the fuzzed bridge accepts (nothing delivers in this harness). */
const TARGET = "http://127.0.0.1:9/hook";
/** OPQ's answers: status and body, as its Go server gave them (README "OPQ bridge"). */
const BODY =
  /^(success|BadRequest(: .*)?|RequestEntityTooLarge: .*|TooManyRequests: .*|404 page not found\n|ServiceUnavailable: .*|delivery service is not ready|)$/s;

const value = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      "t0",
      "t1",
      TARGET,
      `${TARGET}?x=1`,
      "0",
      "1",
      "-1",
      "99999999999999999999",
      "http://evil.example/",
      "",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1")) },
);
const fields = formFields(["topic", "url", "cmd", "recorder", "data", "x"], value);
const request = fc
  .record({
    method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "HEAD"),
    path: fc.constantFrom("/opq/push", "/opq/push", "/opq/replay", "/opq/", "/", "/opq/push/x"),
    query: fc.option(fields, { nil: undefined }),
    fields,
    encoding: fc.constantFrom("urlencoded", "raw-urlencoded", "multipart", "multipart-files", "random", "none"),
    contentType: fc.constantFrom(
      "form",
      "multipart",
      "text/plain",
      "application/json",
      "",
      "multipart/form-data",
      "multipart/form-data; boundary=",
    ),
    boundary: fc.constantFrom("b0undary", "x", "--", "a b", "é"),
    framing: framings,
    extraHeaders: fc.array(
      fc.tuple(
        fc.constantFrom("X-Trace", "Authorization", "Content-Encoding", "Expect", "X-A"),
        fc.constantFrom("1", "gzip", "100-continue", "Basic eDp5", "é"),
      ),
      { maxLength: 2 },
    ),
    random: fc.uint8Array({ maxLength: 64 }),
  })
  .map((r) => {
    const body =
      r.encoding === "urlencoded" || r.encoding === "raw-urlencoded"
        ? Buffer.from(urlEncoded(r.fields, r.encoding === "raw-urlencoded"), "latin1")
        : r.encoding.startsWith("multipart")
          ? multipart(r.fields, r.boundary, r.encoding === "multipart-files")
          : r.encoding === "random"
            ? Buffer.from(r.random)
            : Buffer.alloc(0);
    const type =
      r.contentType === "form"
        ? "application/x-www-form-urlencoded"
        : r.contentType === "multipart"
          ? `multipart/form-data; boundary=${r.boundary}`
          : r.contentType;
    const headers: [string, string][] = [
      ...(type ? [["Content-Type", type] as [string, string]] : []),
      ...r.extraHeaders,
    ];
    const target = r.query ? `${r.path}?${urlEncoded(r.query, false)}` : r.path;
    return rawRequest(r.method, target, headers, body, r.framing);
  });

export const opqHttpFuzzer: Fuzzer = {
  name: "opq-http",
  description:
    "OPQ bridge handler under Node's HTTP parser: push and replay with URL-encoded, multipart, query and random " +
    "bodies, wrong lengths and chunked coding; every request gets one of OPQ's answers (or 400 from the HTTP " +
    "parser), never an internal error, and nothing is logged as an error",
  async start() {
    const fb = startFuzzBroker();
    const { clients, logger } = fb;
    const bridge = createOpqBridge(
      { clients, logger, metrics: recordMetrics(), shutdownSignal: fb.shutdownSignal },
      {
        anyResponse: false,
        maxAttempts: 0,
        deadLetterTopic: "opq-dead-letters",
        timeoutMs: 1_000,
        retainMs: 60_000,
        maxAttributes: 64,
        urlAllowed: (url) => url.host === "127.0.0.1:9",
        maxBufferedBytes: 1024 * 1024,
      },
    );
    const http = createInMemoryHttp(bridge.handle as RequestListener);
    const property = fc.asyncProperty(request, async (raw) => {
      const res = await sendExpectingResponse(http, raw);
      assert.match(res.body.toString("latin1"), BODY, `status ${res.status}`);
      if (res.status === 500) assert.equal(res.body.toString(), "delivery service is not ready");
      assert.deepEqual(fb.errors(), [], "nothing logged as an error");
    });
    return fb.target(property);
  },
};
