/**
 * The delivery encoder gives, for the core's deliveries, the very bytes protobuf-es's
 * `toBinary(create(SubscribeResponseSchema, { messages: deliveries.map(received) }))` gives, on its
 * own path and on its fallback; ReceivedDeliveries reads as that init object.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { PullResponseSchema, SubscribeResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../../model/index.js";
import { ReceivedDeliveries, received } from "../convert.js";
import { encodeDeliveries, encodeReceivedInit } from "./delivery-encoder.js";

/**
 * Strings of every kind: ASCII, any code point, lone surrogates, integer-like (map order), empty,
 * and ASCII strings of up to 200 characters (past the in-JS write limit of 64, and lengths of two
 * varint bytes).
 */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 8 }),
  fc.string({ unit: "binary", maxLength: 8 }),
  fc.string({ unit: fc.constantFrom("\ud800", "\udfff", "a", "é", "😀"), maxLength: 6 }),
  fc.nat({ max: 1000 }).map(String),
  fc.constant(""),
  fc.nat({ max: 200 }).map((n) => "k".repeat(n)),
);
/** Safe integers around the varint bounds, and a few this encoder hands to the fallback. */
const safe = fc.oneof(
  fc.constantFrom(0, 1, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 2 ** 49, Number.MAX_SAFE_INTEGER),
  fc.nat(),
  fc.maxSafeNat(),
);
const timeMs = fc.oneof(
  fc.constantFrom(0, 1, 999, 1000, 1001, 1_800_000_000_123, 8_640_000_000_000_000),
  fc.nat(),
  fc.maxSafeNat(),
);
const oddTime = fc.constantFrom(-1, -1500, 1.5, 2 ** 60);
const u32 = fc.oneof(fc.constantFrom(0, 1, 127, 128, 2 ** 31, 2 ** 32 - 1), fc.nat());

function delivery(times: fc.Arbitrary<number>, seqs: fc.Arbitrary<number>): fc.Arbitrary<Delivery> {
  return fc.record({
    ackId: text,
    deliveryAttempt: u32,
    message: fc.record({
      topic: text,
      seq: seqs,
      id: text,
      data: fc.oneof(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat({ max: 70_000 }).map((n) => Buffer.alloc(n, 7)),
      ),
      attributes: fc.dictionary(text, text, { maxKeys: 6 }),
      publishTimeMs: times,
      priority: fc.nat({ max: 9 }),
      orderingKey: text,
      deliverAtMs: times,
      expireAtMs: times,
    }),
  });
}

const reference = (deliveries: readonly Delivery[]) =>
  Buffer.from(
    toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, { messages: deliveries.map(received) })),
  );

describe("delivery encoder", () => {
  it("delivery encoder - random deliveries encode to the bytes of toBinary(create(received...))", () => {
    fc.assert(
      fc.property(fc.array(delivery(timeMs, safe), { maxLength: 10 }), fc.nat({ max: 9 }), (ds, prefix) => {
        const out = encodeDeliveries(ds, prefix);
        assert.equal(out.length, prefix + reference(ds).length);
        assert.deepEqual(out.subarray(prefix), reference(ds));
      }),
      { numRuns: 400 },
    );
  });

  it("delivery encoder - times and seqs it does not write itself take the fallback, with the same bytes", () => {
    const odd = fc.oneof(timeMs, oddTime);
    const oddSeq = fc.oneof(safe, fc.constantFrom(2 ** 60, 2 ** 53 + 2));
    fc.assert(
      fc.property(fc.array(delivery(odd, oddSeq), { minLength: 1, maxLength: 6 }), (ds) => {
        assert.deepEqual(encodeDeliveries(ds), reference(ds));
      }),
      { numRuns: 300 },
    );
  });

  it("delivery encoder - an empty batch is an empty message", () => {
    assert.deepEqual(encodeDeliveries([]), Buffer.alloc(0));
    assert.equal(encodeDeliveries([], 5).length, 5);
  });

  it("delivery encoder - ReceivedDeliveries reads as the init object `received` makes, for create()", () => {
    fc.assert(
      fc.property(fc.array(delivery(timeMs, safe), { maxLength: 5 }), (ds) => {
        const lazy = new ReceivedDeliveries(ds);
        assert.deepEqual(lazy.messages, ds.map(received));
        assert.equal(lazy.messages, lazy.messages, "made once");
        const made = create(PullResponseSchema, lazy as never);
        assert.deepEqual(made, create(PullResponseSchema, { messages: ds.map(received) }));
      }),
      { numRuns: 100 },
    );
  });
  it("delivery encoder - edge values (largest seq and attempt, 1 MiB of data, map key order, non-ASCII) encode the same", () => {
    const ds: Delivery[] = [
      { at: 0, expire: 0, seq: 1, attempt: 1, data: new Uint8Array(0), attributes: {} as Record<string, string> },
      {
        at: 1_800_000_000_123,
        expire: 1_900_000_000_000,
        seq: Number.MAX_SAFE_INTEGER,
        attempt: 2 ** 32 - 1,
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
    assert.deepEqual(encodeDeliveries(ds), reference(ds));
  });

  it("delivery encoder - strings around the short-ASCII bound, ASCII or not, encode the same", () => {
    const strings: string[] = [];
    for (const n of [0, 1, 63, 64, 65, 200]) {
      const ascii = "k".repeat(n);
      strings.push(ascii, `${ascii}é`, `é${ascii}`, `${ascii}\ud800`, `${ascii}😀`, `${ascii}\u007f`);
    }
    const ds: Delivery[] = strings.map((s, i) => ({
      ackId: s,
      deliveryAttempt: 1,
      message: {
        topic: s,
        seq: i,
        id: s,
        data: new Uint8Array(0),
        attributes: { [s]: s, x: s },
        publishTimeMs: 1_000,
        priority: 0,
        orderingKey: s,
        deliverAtMs: 0,
        expireAtMs: 0,
      },
    }));
    assert.deepEqual(encodeDeliveries(ds), reference(ds));
  });

  it("delivery encoder - any other response (an init object or a message) is protobuf-es's bytes after the prefix", () => {
    fc.assert(
      fc.property(fc.array(delivery(timeMs, safe), { maxLength: 4 }), fc.nat({ max: 9 }), (ds, prefix) => {
        const init = { messages: ds.map(received) };
        const pulled = create(PullResponseSchema, init);
        const expected = Buffer.from(toBinary(PullResponseSchema, pulled));
        assert.deepEqual(encodeReceivedInit(init, prefix).subarray(prefix), expected);
        assert.deepEqual(encodeReceivedInit(pulled as never, prefix).subarray(prefix), expected);
        assert.equal(encodeReceivedInit(init, prefix).length, prefix + expected.length);
      }),
      { numRuns: 100 },
    );
    assert.deepEqual(encodeReceivedInit({}), Buffer.alloc(0));
  });
});
