import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import {
  PublisherService,
  PublishRequestSchema,
  PublishResponseSchema,
} from "../../../gen/switchyard/v1/publisher_pb.js";
import { callOf } from "./chain-parts.js";
import type { HotMethod } from "./hot-methods.js";
import { LeanCall } from "./lean-call.js";
import { unaryRequest, unaryResponse } from "./unary-chain.js";

/** A lean call of Publish (its implementation never runs here). */
function publishCall(authority: string): LeanCall {
  const hot: HotMethod = { method: PublisherService.method.publish, impl: async () => ({}) };
  return new LeanCall({
    hot,
    protocolName: "connect",
    headers: { ":path": "/switchyard.v1.PublisherService/Publish", ":authority": authority, "x-who": authority },
    timeoutMs: undefined,
    secure: false,
    responseHeader: { "content-type": "application/proto" },
    responseTrailer: {},
    peer: { remoteAddress: "127.0.0.1", remotePort: 40000 },
  });
}

const input = create(PublishRequestSchema, {});
const output = create(PublishResponseSchema, {});

describe("lean chain parts", () => {
  it("lean chain parts - requests have the literal's own keys, lazy parts read from their own call", () => {
    const [a, b] = [publishCall("a.test"), publishCall("b.test")];
    const ra = unaryRequest(a, input);
    const rb = unaryRequest(b, input);
    const keys = [
      "stream",
      "message",
      "method",
      "requestMethod",
      "service",
      "url",
      "signal",
      "header",
      "contextValues",
    ];
    assert.deepEqual(Object.keys(ra), keys);
    for (const key of ["url", "signal", "header", "contextValues"]) {
      const d = Object.getOwnPropertyDescriptor(ra, key);
      assert.equal(typeof d?.get, "function", key);
      assert.equal(d?.enumerable && d.configurable, true, key);
      // One getter shared by every request (one shape), each reading its own request's call.
      assert.equal(d?.get, Object.getOwnPropertyDescriptor(rb, key)?.get, key);
    }
    assert.equal(ra.url, "http://a.test/switchyard.v1.PublisherService/Publish");
    assert.equal(rb.header.get("x-who"), "b.test");
    assert.equal(ra.signal, a.signal);
    assert.equal(rb.contextValues, b.values);
    // A spread request keeps its call and the values its getters gave.
    const spread = { ...rb };
    assert.equal(callOf(spread), b);
    assert.equal(spread.header, b.requestHeader);
  });

  it("lean chain parts - responses have the literal's own keys; header and trailer are their call's", () => {
    const [a, b] = [publishCall("a.test"), publishCall("b.test")];
    const resA = unaryResponse(a, output);
    const resB = unaryResponse(b, output);
    assert.deepEqual(Object.keys(resA), ["stream", "message", "method", "service", "header", "trailer"]);
    assert.equal(resA.header, a.responseHeader);
    assert.equal(resB.trailer, b.responseTrailer);
    assert.notEqual(resA.header, resB.header);
    assert.equal(resA.header.get("content-type"), "application/proto");
    assert.equal(resA.stream, false);
    assert.equal(resA.service, PublisherService);
  });
});
