/**
 * The hand-written Publish codec against protobuf-es: the request decoder gives the very message
 * `fromBinary` gives (or declines, and then `fromBinary` decides), and the response encoder the
 * very bytes of `toBinary(create(...))`, for random messages (property tests) and the edges.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { PublishRequestSchema, PublishResponseSchema } from "../../../gen/switchyard/v1/publisher_pb.js";
import { parseMessage, serializeMessage } from "./codec.js";
import { decodePublishRequest, encodePublishResponse, type PublishResponseInit } from "./publish-codec.js";

/** The Publish response encoder as the lean path gives it to serializeMessage (hot-methods.ts). */
const encodeResponse = (output: unknown, prefixBytes: number) =>
  encodePublishResponse(output as PublishResponseInit, prefixBytes);

const MAX_U64 = 2n ** 64n - 1n;
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 80 });
/** Strings of every kind: ASCII (short and long), any code point, lone surrogates, "__proto__". */
const text = fc.oneof(
  ascii,
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: fc.constantFrom("\ud800", "\udfff", "a", "é", "😀"), maxLength: 6 }),
  fc.constantFrom("", "__proto__", "constructor", "0", "1"),
);
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 127n, 128n, 2n ** 32n, 2n ** 49n - 1n, 2n ** 49n, 2n ** 63n, MAX_U64),
  fc.bigInt({ min: 0n, max: MAX_U64 }),
);
const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 28, 2 ** 32 - 1), fc.nat());
const publishMessage = fc.record(
  {
    data: fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.nat({ max: 5000 }).map((n) => Buffer.alloc(n, 7)),
    ),
    attributes: fc.dictionary(text, text, { maxKeys: 6 }),
    id: text,
    priority: u32,
    orderingKey: text,
    delayMs: u64,
    ttlMs: u64,
  },
  { requiredKeys: [] },
);
const request = fc.record({ topic: text, messages: fc.array(publishMessage, { maxLength: 5 }) }, { requiredKeys: [] });

/** What the fast path promises to read itself: ASCII text and varints below 2^49. */
function fastReadable(init: { topic?: string; messages?: Record<string, unknown>[] }): boolean {
  const isAscii = (s: unknown) => s === undefined || [...(s as string)].every((c) => c.charCodeAt(0) < 0x80);
  const small = (v: unknown) => v === undefined || (v as bigint) < 2n ** 49n;
  if (!isAscii(init.topic)) return false;
  for (const m of init.messages ?? []) {
    if (!isAscii(m.id) || !isAscii(m.orderingKey) || !small(m.delayMs) || !small(m.ttlMs)) return false;
    for (const [k, v] of Object.entries((m.attributes ?? {}) as Record<string, string>)) {
      if (!isAscii(k) || !isAscii(v)) return false;
    }
  }
  return true;
}

/** The decoder's answer is protobuf-es's (when it answers): same values, types and prototypes. */
function assertSameAsProtobufEs(bytes: Uint8Array): "fast" | "declined" {
  const fast = decodePublishRequest(bytes);
  if (fast === undefined) return "declined";
  const reference = fromBinary(PublishRequestSchema, bytes);
  assert.deepStrictEqual(fast, reference);
  for (const [i, m] of fast.messages.entries()) {
    assert.equal(Object.getPrototypeOf(m.attributes), Object.getPrototypeOf(reference.messages[i]?.attributes));
    assert.equal(m.data.constructor, reference.messages[i]?.data.constructor);
  }
  return "fast";
}

describe("hand-written PublishRequest decoder", () => {
  it("reads what protobuf-es writes exactly as fromBinary does (random requests)", () => {
    fc.assert(
      fc.property(request, (init) => {
        const bytes = Buffer.from(toBinary(PublishRequestSchema, create(PublishRequestSchema, init as never)));
        const outcome = assertSameAsProtobufEs(bytes);
        // It must really take the fast way for what clients send (not decline everything).
        if (fastReadable(init as never)) assert.equal(outcome, "fast");
      }),
      { numRuns: 400 },
    );
  });

  it("the bench's and a typical client's request take the fast way", () => {
    const bytes = toBinary(
      PublishRequestSchema,
      create(PublishRequestSchema, {
        topic: "orders",
        messages: [{ data: Buffer.alloc(1024, 0x61), attributes: { k: "v", __proto__: "x" }, id: "id-1", priority: 3 }],
      }),
    );
    assert.equal(assertSameAsProtobufEs(bytes), "fast");
    assert.equal(assertSameAsProtobufEs(new Uint8Array(0)), "fast");
  });

  it("declines unknown fields, and parseMessage then keeps them in $unknown as fromBinary does", () => {
    const known = toBinary(PublishRequestSchema, create(PublishRequestSchema, { topic: "t", messages: [{ id: "a" }] }));
    // field 9, varint 5; and field 15 inside the message (length-delimited "x")
    const unknownTop = Buffer.concat([known, Buffer.from([0x48, 0x05])]);
    const inner = Buffer.from([0x0a, 0x01, 0x61, 0x7a, 0x01, 0x78]);
    const unknownInner = Buffer.concat([Buffer.from([0x12, inner.length]), inner]);
    for (const bytes of [unknownTop, unknownInner]) {
      assert.equal(decodePublishRequest(bytes), undefined);
      const parsed = parseMessage(PublishRequestSchema, true, bytes, decodePublishRequest);
      assert.deepStrictEqual(parsed, fromBinary(PublishRequestSchema, bytes));
    }
    const parsed = parseMessage(PublishRequestSchema, true, unknownTop, decodePublishRequest);
    assert.deepEqual(parsed.$unknown, [{ no: 9, wireType: 0, data: Buffer.from([5]) }]);
  });

  it("random and mutated bytes: the same message as fromBinary, or declined (random bytes)", () => {
    const mutated = fc
      .tuple(request, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 3 }))
      .map(([init, at, byte, cut]) => {
        const bytes = Buffer.from(toBinary(PublishRequestSchema, create(PublishRequestSchema, init as never)));
        if (bytes.length === 0) return bytes;
        bytes[at % bytes.length] = byte;
        return bytes.subarray(0, Math.max(0, bytes.length - cut));
      });
    fc.assert(
      fc.property(fc.oneof(mutated, fc.uint8Array({ maxLength: 40 })), (bytes) => {
        assertSameAsProtobufEs(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("bad protobuf fails with connect-node's error (INTERNAL `parse binary: …`)", () => {
    const cases = [
      Buffer.from([0x0a, 0x05, 0x61]), // truncated string
      Buffer.from([0x12, 0x03, 0x0a, 0x09, 0x00]), // truncated nested bytes
      Buffer.from([0x0a, 0x02, 0xc3, 0x28]), // invalid UTF-8
      Buffer.from([0x8a, 0x80, 0x80, 0x80, 0x80, 0x00, 0x00]), // tag varint overflows uint32
      Buffer.from([0x07]), // wire type 7
    ];
    for (const bytes of cases) {
      let reference: unknown;
      try {
        fromBinary(PublishRequestSchema, bytes);
      } catch (e) {
        reference = e;
      }
      assert.ok(reference instanceof Error, `fromBinary rejects ${bytes.toString("hex")}`);
      assert.throws(
        () => parseMessage(PublishRequestSchema, true, bytes, decodePublishRequest),
        (e: unknown) =>
          e instanceof ConnectError &&
          e.code === 13 &&
          e.rawMessage === `parse binary: ${(reference as Error).message}`,
      );
    }
  });
});

const result = fc.record(
  { seq: fc.oneof(u64, fc.constant(undefined)), id: text, duplicate: fc.boolean() },
  { requiredKeys: [] },
);

describe("hand-written PublishResponse encoder", () => {
  it("writes the bytes of toBinary(create(...)) (random responses, init objects and messages)", () => {
    fc.assert(
      fc.property(fc.record({ results: fc.array(result, { maxLength: 6 }) }, { requiredKeys: [] }), (init) => {
        const message = create(PublishResponseSchema, init as never);
        const expected = Buffer.from(toBinary(PublishResponseSchema, message));
        assert.ok(encodePublishResponse(init as never).equals(expected));
        assert.ok(encodePublishResponse(message).equals(expected));
        const prefixed = encodePublishResponse(init as never, 5);
        assert.ok(prefixed.subarray(5).equals(expected));
      }),
      { numRuns: 400 },
    );
  });

  it("serializeMessage gives protobuf-es's bytes after the free prefix, binary and JSON", () => {
    const init = {
      results: [
        { seq: 42n, id: "abc", duplicate: true },
        { seq: 2n ** 63n, id: "" },
      ],
    };
    const binary = Buffer.from(serializeMessage(PublishResponseSchema, true, init, 5, encodeResponse));
    assert.ok(binary.subarray(5).equals(toBinary(PublishResponseSchema, create(PublishResponseSchema, init))));
    const json = Buffer.from(serializeMessage(PublishResponseSchema, false, init, 5, encodeResponse))
      .subarray(5)
      .toString();
    assert.deepEqual(JSON.parse(json), {
      results: [{ seq: "42", id: "abc", duplicate: true }, { seq: "9223372036854775808" }],
    });
  });
});
