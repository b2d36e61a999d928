/**
 * The hand-written SubscribeResponse / PullResponse encoder gives the very bytes of protobuf-es's
 * reflective `toBinary(create(...))`, for random batches (property tests) and the edges.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { PullResponseSchema, SubscribeResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import { protoText } from "../../../test/helpers/proto-arbitraries.js";
import { received } from "../convert.js";
import { encodeReceivedBatch, type ReceivedBatchInit } from "./received-encoder.js";

const MAX_U64 = 2n ** 64n - 1n;
const MAX_U32 = 2 ** 32 - 1;

const text = protoText;

const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 16_383, 16_384, 2 ** 31, MAX_U32), fc.nat());
const u64 = fc.oneof(
  fc.constantFrom(0n, 1n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 35n, 2n ** 53n, 2n ** 63n, MAX_U64),
  fc.bigInt({ min: 0n, max: MAX_U64 }),
);
const timestamp = fc.oneof(
  fc.constantFrom(0, 1, 999, 1000, 1_800_000_000_000, 8_640_000_000_000_000).map((ms) => timestampFromMs(ms)),
  fc.record(
    { seconds: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), nanos: fc.integer() },
    { requiredKeys: [] },
  ),
);
const data = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constant(new Uint8Array(0)),
  fc.nat({ max: 70_000 }).map((n) => Buffer.alloc(n, 7)),
);
const attributes = fc.oneof(
  fc.dictionary(text, text, { maxKeys: 8 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.string({ maxLength: 300 }), { minKeys: 20, maxKeys: 60 }),
);

const message = fc.record(
  {
    topic: text,
    seq: u64,
    id: text,
    data,
    attributes,
    publishTime: timestamp,
    priority: u32,
    orderingKey: text,
    deliverAt: timestamp,
    expireAt: timestamp,
  },
  { requiredKeys: [] },
);
const receivedMessage = fc.record({ ackId: text, message, deliveryAttempt: u32 }, { requiredKeys: [] });
const batch = fc.record({ messages: fc.array(receivedMessage, { maxLength: 12 }) }, { requiredKeys: [] });

const reference = (init: ReceivedBatchInit) =>
  Buffer.from(toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, init as never)));

describe("received encoder", () => {
  it("received encoder - random batches encode to the bytes of toBinary(create(...))", () => {
    fc.assert(
      fc.property(batch, (init) => {
        assert.deepEqual(encodeReceivedBatch(init as ReceivedBatchInit), reference(init as ReceivedBatchInit));
      }),
      { numRuns: 400 },
    );
  });

  it("received encoder - a created message (not an init object) encodes the same, as a PullResponse too", () => {
    fc.assert(
      fc.property(batch, (init) => {
        const made = create(SubscribeResponseSchema, init as never);
        const pulled = create(PullResponseSchema, init as never);
        const expected = Buffer.from(toBinary(PullResponseSchema, pulled));
        assert.deepEqual(encodeReceivedBatch(made), expected);
        assert.deepEqual(encodeReceivedBatch(pulled), expected);
      }),
      { numRuns: 200 },
    );
  });

  it("received encoder - what the service yields (convert.ts `received`) encodes the same, at edge values", () => {
    const deliveries = [
      { at: 0, expire: 0, seq: 1, attempt: 1, data: new Uint8Array(0), attributes: {} },
      {
        at: 1_800_000_000_123,
        expire: 1_900_000_000_000,
        seq: Number.MAX_SAFE_INTEGER,
        attempt: MAX_U32,
        data: Buffer.alloc(1 << 20, 1),
        attributes: { "2": "b", "1": "a", k: "", "": "v", ключ: "значение 😀" },
      },
    ].map((d) => ({
      ackId: `${d.seq}-1-1-0`,
      deliveryAttempt: d.attempt,
      message: {
        topic: "t",
        seq: d.seq,
        id: "sy-1",
        data: d.data,
        attributes: d.attributes,
        publishTimeMs: 1_800_000_000_000,
        priority: 9,
        orderingKey: "",
        deliverAtMs: d.at,
        expireAtMs: d.expire,
      },
    }));
    const init = { messages: deliveries.map((d) => received(d as Parameters<typeof received>[0])) };
    assert.deepEqual(encodeReceivedBatch(init), reference(init));
    assert.deepEqual(encodeReceivedBatch({}), Buffer.alloc(0));
    assert.deepEqual(encodeReceivedBatch({ messages: [] }), Buffer.alloc(0));
  });

  it("received encoder - strings around the short-ASCII bound, ASCII or not, encode the same", () => {
    const strings: string[] = [];
    for (const n of [0, 1, 63, 64, 65, 200]) {
      const ascii = "k".repeat(n);
      strings.push(ascii, `${ascii}é`, `é${ascii}`, `${ascii}\ud800`, `${ascii}😀`, `${ascii}\u007f`);
    }
    const messages = strings.map((s, i) => ({
      ackId: s,
      message: { topic: s, seq: BigInt(i), id: s, orderingKey: s, attributes: { [s]: s, x: s } },
    }));
    const init = { messages };
    assert.deepEqual(encodeReceivedBatch(init), reference(init));
  });

  it("received encoder - leaves the prefix bytes free and writes the message after them", () => {
    const init = { messages: [{ ackId: "a", message: { topic: "t", seq: 5n } }] };
    const out = encodeReceivedBatch(init, 5);
    assert.deepEqual(out.subarray(5), reference(init));
  });
});
