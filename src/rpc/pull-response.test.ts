/** The direct path's Pull response against `create` over the RPC layer's conversion (property). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { PullResponseSchema } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../model/index.js";
import { ReceivedDeliveries } from "./convert.js";
import { pullResponseOf } from "./pull-response.js";

const timeMs = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 2 ** 44 }), fc.constant(1_700_000_000_999));

const delivery: fc.Arbitrary<Delivery> = fc.record({
  ackId: fc.string(),
  deliveryAttempt: fc.nat({ max: 1000 }),
  message: fc.record({
    topic: fc.string(),
    seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    id: fc.string({ unit: "binary" }),
    data: fc.uint8Array({ maxLength: 64 }),
    attributes: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
    publishTimeMs: timeMs,
    priority: fc.nat({ max: 9 }),
    orderingKey: fc.string(),
    deliverAtMs: timeMs,
    expireAtMs: timeMs,
  }),
});

describe("in-process Pull response", () => {
  it("is the message create(PullResponseSchema, …) makes of the same deliveries", () => {
    fc.assert(
      fc.property(fc.array(delivery, { maxLength: 5 }), (deliveries) => {
        const fast = pullResponseOf(deliveries);
        const reference = create(PullResponseSchema, new ReceivedDeliveries(deliveries));
        assert.deepStrictEqual(fast, reference);
        // The same own keys in the same order (a JSON or a for…in reader sees no difference) …
        assert.equal(
          JSON.stringify(fast, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
          JSON.stringify(reference, (_k, v) => (typeof v === "bigint" ? `${v}n` : v)),
        );
        // … and the stored message's own data and attributes, as create keeps them.
        for (const [i, d] of deliveries.entries()) {
          assert.equal(fast.messages[i]?.message?.data, d.message.data);
          assert.equal(fast.messages[i]?.message?.attributes, d.message.attributes);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("is a plain message: data properties only, no symbols, its messages made once", () => {
    fc.assert(
      fc.property(fc.array(delivery, { maxLength: 3 }), (deliveries) => {
        const res = pullResponseOf(deliveries);
        assert.deepEqual(Object.keys(res), ["$typeName", "messages"]);
        assert.deepEqual(Object.getOwnPropertySymbols(res), []);
        const d = Object.getOwnPropertyDescriptor(res, "messages");
        assert.equal(d?.writable && d.enumerable && "value" in d, true);
        assert.equal(res.messages, res.messages);
      }),
      { numRuns: 100 },
    );
  });

  it("no deliveries: an empty response", () => {
    assert.deepStrictEqual(pullResponseOf([]), create(PullResponseSchema, new ReceivedDeliveries([])));
  });
});
