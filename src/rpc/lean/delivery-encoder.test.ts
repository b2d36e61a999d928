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
import { protoText } from "../../../test/helpers/proto-arbitraries.js";
import type { Delivery } from "../../model/index.js";
import { received } from "../convert.js";
import { encodeDeliveries, ReceivedDeliveries } from "./delivery-encoder.js";

/** protoText, and ASCII strings of up to 200 characters (past the in-JS write limit of 64, and lengths of two varint bytes). */
const text = fc.oneof(
  protoText,
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
});
