/**
 * The hand-written AckRequest decoder gives the very message protobuf-es's `fromBinary` gives, or
 * undefined (then the caller uses `fromBinary`): random requests, fields in any order and
 * repeated, and malformed bytes.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { AckRequestSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import { decodeAckRequest } from "./ack-codec.js";

const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 });
const text = fc.oneof(
  ascii,
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.nat({ max: 300 }).map((n) => "a".repeat(n)),
);
const requestOf = (t: fc.Arbitrary<string>) =>
  fc.record({
    subscription: t,
    ackIds: fc.array(t, { maxLength: 12 }),
    messageIds: fc.array(t, { maxLength: 4 }),
  });
/** Mostly ASCII requests (what clients send), some with any text. */
const request = fc.oneof({ arbitrary: requestOf(ascii), weight: 3 }, { arbitrary: requestOf(text), weight: 1 });

/** protobuf-es's answer: the message, or the error message it throws. */
function reference(bytes: Uint8Array): unknown {
  try {
    return fromBinary(AckRequestSchema, bytes);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

describe("ack codec", () => {
  it("ack codec - decodes random requests as fromBinary does (ASCII), else leaves them to it", () => {
    let decoded = 0;
    fc.assert(
      fc.property(request, (init) => {
        const bytes = toBinary(AckRequestSchema, create(AckRequestSchema, init));
        const fast = decodeAckRequest(bytes);
        const isAscii = [init.subscription, ...init.ackIds, ...init.messageIds].every((s) => /^[\0-\x7f]*$/.test(s));
        if (isAscii) {
          assert.deepEqual(fast, fromBinary(AckRequestSchema, bytes));
          decoded++;
        } else assert.equal(fast, undefined);
      }),
      { numRuns: 500 },
    );
    assert.ok(decoded > 100, "most random requests take the fast path");
  });

  it("ack codec - fields in any order, repeated, and an empty message", () => {
    const field = (tag: number, s: string) => Buffer.concat([Buffer.of(tag, s.length), Buffer.from(s)]);
    const bytes = Buffer.concat([
      field(0x12, "1-a-1-0"),
      field(0x0a, "first"),
      field(0x1a, "m-1"),
      field(0x12, "1-b-1-0"),
      field(0x0a, "last"),
    ]);
    const fast = decodeAckRequest(bytes);
    assert.deepEqual(fast, fromBinary(AckRequestSchema, bytes));
    assert.equal(fast?.subscription, "last");
    assert.deepEqual(fast?.ackIds, ["1-a-1-0", "1-b-1-0"]);
    assert.deepEqual(decodeAckRequest(new Uint8Array(0)), fromBinary(AckRequestSchema, new Uint8Array(0)));
    // A Uint8Array that is not a Buffer, at an offset into a larger buffer.
    const inner = new Uint8Array(bytes.length + 3);
    inner.set(bytes, 3);
    assert.deepEqual(decodeAckRequest(inner.subarray(3)), fromBinary(AckRequestSchema, bytes));
  });

  it("ack codec - malformed or unusual bytes give undefined or what fromBinary gives", () => {
    const valid = toBinary(AckRequestSchema, create(AckRequestSchema, { subscription: "s", ackIds: ["1-1-1-0"] }));
    const cases: Uint8Array[] = [
      valid.subarray(0, valid.length - 1), // truncated string
      Buffer.of(0x12), // tag without length
      Buffer.of(0x12, 0x80), // unterminated length
      Buffer.of(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f), // a 5-byte length
      Buffer.of(0x20, 0x01), // unknown varint field: protobuf-es keeps it in $unknown
      Buffer.of(0x10, 0x01), // field 2 with the wrong wire type
      Buffer.of(0x0a, 0x02, 0xc3, 0xa9), // non-ASCII (é)
      Buffer.of(0x0a, 0x01, 0xff), // invalid UTF-8
    ];
    for (const bytes of cases) {
      const fast = decodeAckRequest(bytes);
      if (fast !== undefined) assert.deepEqual(fast, reference(bytes), Buffer.from(bytes).toString("hex"));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const fast = decodeAckRequest(bytes);
        if (fast !== undefined) assert.deepEqual(fast, reference(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
