/** The RestMQ bridge's HTTP handler: REST, the JSON protocol, policies and control, with any arguments. */
import assert from "node:assert/strict";
import type { RequestListener } from "node:http";
import fc from "fast-check";
import { createRestmqBridge } from "../../src/bridges/restmq/index.js";
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

/** cyclone's error page, as RestMQ answered every failure. */
const ERROR_PAGE = /^<html><title>(\d{3}): [^<]*<\/title><body>\1: [^<]*<\/body><\/html>$/;

const value = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constantFrom(
      "q0",
      "q1",
      "42",
      "007",
      "3.14",
      "1e5",
      "",
      "add",
      "get",
      "take",
      "del",
      "start",
      "stop",
      "broadcast",
      "roundrobin",
      "-1",
      "5",
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 10 }).map((b) => Buffer.from(b).toString("latin1")) },
);
const jsonBody = fc
  .record(
    {
      cmd: fc.oneof(value, fc.integer(), fc.constant(null)),
      queue: fc.oneof(value, fc.integer()),
      value: fc.oneof(value, fc.integer(), fc.array(value, { maxLength: 2 })),
      key: fc.oneof(value, fc.integer()),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));
const fields = formFields(
  ["queue", "value", "msg", "ttl", "body", "callback", "policy", "status", "key"],
  fc.oneof({ weight: 4, arbitrary: value }, { weight: 1, arbitrary: jsonBody }),
);
const request = fc
  .record({
    method: fc.constantFrom("GET", "GET", "POST", "POST", "DELETE", "PUT", "HEAD"),
    path: fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom("/q/", "/p/", "/j/", "/stats/", "/control/", "/static/", "/ws/"), value)
          .map(([p, v]) => `${p}${encodeURIComponent(v)}`),
      },
      { weight: 2, arbitrary: fc.constantFrom("/", "/queue", "/stats/", "/static/x.js", "/nope", "/q/") },
    ),
    query: fc.option(fields, { nil: undefined }),
    fields,
    encoding: fc.constantFrom("urlencoded", "urlencoded", "raw-urlencoded", "multipart", "random", "none"),
    contentType: fc.constantFrom("form", "form", "multipart", "application/json", "text/plain", ""),
    framing: framings,
    random: fc.uint8Array({ maxLength: 48 }),
  })
  .map((r) => {
    const body =
      r.encoding === "urlencoded" || r.encoding === "raw-urlencoded"
        ? Buffer.from(urlEncoded(r.fields, r.encoding === "raw-urlencoded"), "latin1")
        : r.encoding === "multipart"
          ? multipart(r.fields, "b0undary", false)
          : r.encoding === "random"
            ? Buffer.from(r.random)
            : Buffer.alloc(0);
    const type =
      r.contentType === "form"
        ? "application/x-www-form-urlencoded"
        : r.contentType === "multipart"
          ? "multipart/form-data; boundary=b0undary"
          : r.contentType;
    const headers: [string, string][] = type ? [["Content-Type", type]] : [];
    const target = r.query ? `${r.path}?${urlEncoded(r.query, false)}` : r.path;
    return rawRequest(r.method, target, headers, body, r.framing);
  });

export const restmqHttpFuzzer: Fuzzer = {
  name: "restmq-http",
  description:
    "RestMQ bridge handler under Node's HTTP parser: /q, /, /p, /j, /stats, /control, /static, /ws and the JSON " +
    "protocol with url-encoded, multipart, query and random arguments, wrong lengths and chunked coding; every " +
    "failure is a cyclone error page or a RestMQ error object, never a 500, and nothing is logged as an error",
  async start() {
    const fb = startFuzzBroker({ maxMessageBytes: 4096 });
    const { clients, logger } = fb;
    const bridge = createRestmqBridge(
      { clients, logger, metrics: recordMetrics(), shutdownSignal: fb.shutdownSignal },
      { maxMessageBytes: 4096 },
    );
    const http = createInMemoryHttp(bridge.handle as unknown as RequestListener);
    const property = fc.asyncProperty(request, async (raw) => {
      const res = await sendExpectingResponse(http, raw);
      assert.notEqual(res.status, 500, `500: ${res.body.toString()}`);
      const text = res.body.toString();
      if (res.status >= 400 && text.startsWith("<html>")) assert.match(text, ERROR_PAGE);
      assert.deepEqual(fb.errors(), [], "nothing logged as an error");
    });
    return fb.target(property, bridge);
  },
};
