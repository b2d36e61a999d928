/** The GopherMQ bridge's HTTP handler: publish, subscribe and fetch with JSON, form and random bodies. */
import assert from "node:assert/strict";
import type { RequestListener } from "node:http";
import fc from "fast-check";
import { createGophermqBridge } from "../../src/bridges/gophermq/index.js";
import { recordMetrics } from "../helpers/okq-harness.js";
import { startFuzzBroker } from "./fuzz-broker.js";
import type { Fuzzer } from "./fuzz-kit.js";
import { createInMemoryHttp, formFields, framings, rawRequest, sendExpectingResponse, urlEncoded } from "./http-kit.js";

/** GopherMQ's error messages (Echo's and its own): the `message` of every error body. */
const MESSAGES = new Set([
  "Not Found",
  "Method Not Allowed",
  "Request Entity Too Large",
  "request's body is invalid",
  "invalid subject",
  "broker overflow",
  "subscriber not found",
  "server error",
  "bad id",
  "Service Unavailable",
]);

const text = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "s0",
      "s1",
      "orders.created",
      "",
      "a b",
      ">",
      "*",
      "x".repeat(300),
      "é",
      "00000000-0000-4000-8000-000000000000",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
/** A JSON field value: usually a string (GopherMQ's fields are strings), sometimes another type. */
const jsonValue = fc.oneof(
  { weight: 6, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(text, { maxLength: 2 }),
      fc.dictionary(text, text, { maxKeys: 2 }),
    ),
  },
);
const jsonBody = fc
  .dictionary(
    fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom("subject", "data", "id", "Subject", "DATA") },
      { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
    ),
    jsonValue,
    { maxKeys: 4 },
  )
  .map((o) => JSON.stringify(o));
const request = fc
  .record({
    method: fc.constantFrom("POST", "POST", "POST", "GET", "OPTIONS", "HEAD", "DELETE"),
    path: fc.constantFrom(
      "/api/publish",
      "/api/publish/async",
      "/api/subscribe",
      "/api/fetch",
      "/ready",
      "/api",
      "/api/publish/",
      "http://h/api/fetch",
    ),
    query: fc.option(formFields(["subject", "data", "id", "pretty"], text), { nil: undefined }),
    body: fc.oneof(
      { weight: 5, arbitrary: jsonBody },
      { weight: 1, arbitrary: jsonBody.map((j) => j.slice(0, Math.floor(j.length / 2))) },
      { weight: 1, arbitrary: formFields(["subject", "data", "id"], text).map((f) => urlEncoded(f, false)) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b).toString("latin1")) },
    ),
    contentType: fc.constantFrom(
      "application/json",
      "application/json",
      "application/json; charset=utf-8",
      "application/x-www-form-urlencoded",
      "text/plain",
      "",
      "APPLICATION/JSON",
    ),
    framing: framings,
  })
  .map((r) => {
    const headers: [string, string][] = r.contentType ? [["Content-Type", r.contentType]] : [];
    const target = r.query ? `${r.path}?${urlEncoded(r.query, false)}` : r.path;
    return rawRequest(r.method, target, headers, Buffer.from(r.body, "latin1"), r.framing);
  });

export const gophermqHttpFuzzer: Fuzzer = {
  name: "gophermq-http",
  description:
    "GopherMQ bridge handler under Node's HTTP parser: publish (sync, async), subscribe and fetch with JSON of " +
    "any shape, truncated JSON, forms, queries and random bodies, wrong lengths and chunked coding; every answer " +
    "is GopherMQ's JSON or an empty body, every error message is one of GopherMQ's, and nothing is logged as an error",
  async start() {
    const fb = startFuzzBroker();
    const { clients, logger } = fb;
    const bridge = createGophermqBridge(
      { clients, logger, metrics: recordMetrics(), shutdownSignal: fb.shutdownSignal },
      { maxMessageBytes: 4096, maxPending: 10 },
    );
    const http = createInMemoryHttp(bridge.handle as unknown as RequestListener);
    const property = fc.asyncProperty(request, async (raw) => {
      const res = await sendExpectingResponse(http, raw);
      if (res.body.length > 0 && res.headers.get("content-type")?.startsWith("application/json")) {
        const value = JSON.parse(res.body.toString()) as { message?: string };
        if (res.status >= 400) assert.ok(MESSAGES.has(value.message ?? ""), `error body ${res.body.toString()}`);
      } else if (res.status >= 400 && res.status !== 400) assert.equal(res.body.length, 0, `status ${res.status}`);
      assert.deepEqual(fb.errors(), [], "nothing logged as an error");
    });
    return fb.target(property, bridge);
  },
};
