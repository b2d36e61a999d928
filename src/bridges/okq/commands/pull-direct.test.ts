/**
 * pullDirect: the replies of a Pull answered by the in-process transport (events straight from
 * the core's deliveries) are the replies of the same Pull answered as a plain message.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { PullResponseSchema } from "../../../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../../../model/index.js";
import { ReceivedDeliveries } from "../../../rpc/convert.js";
import { deliveriesOf, pullResponseOf } from "../../../rpc/pull-response.js";
import type { BrokerClients } from "../../bridge.js";
import { encodeReplies } from "../resp-encoder.js";
import { pullDirect } from "./queue.js";

const delivery = (i: number, id: string, data: Uint8Array): Delivery => ({
  ackId: `1-${i}-1-0`,
  deliveryAttempt: 1,
  message: {
    topic: "q",
    seq: i,
    id,
    data,
    attributes: { a: "b" },
    publishTimeMs: 1_700_000_000_000 + i,
    priority: 0,
    orderingKey: "",
    deliverAtMs: 0,
    expireAtMs: 0,
  },
});

const DELIVERIES = [
  delivery(1, "e1", Buffer.from("one")),
  delivery(2, "é-2", new Uint8Array(0)),
  delivery(3, "e3", Buffer.alloc(1500, 0x78)),
];

/** Clients whose Pull answers `respond()` and records its requests. */
function clients(respond: () => unknown): { clients: BrokerClients; requests: unknown[] } {
  const requests: unknown[] = [];
  const subscriber = {
    async pull(req: unknown) {
      requests.push(req);
      return respond();
    },
  };
  return { clients: { subscriber } as unknown as BrokerClients, requests };
}

describe("okq pullDirect", () => {
  it("answers the same replies from the core's deliveries as from the response's messages, nil past them", async () => {
    const lazy = pullResponseOf(DELIVERIES);
    const direct = clients(() => lazy);
    const plain = clients(() => create(PullResponseSchema, new ReceivedDeliveries(DELIVERIES)));
    const key = JSON.stringify(["q", 60, false]);
    const slots = new Array(5).fill(null);
    const a = await pullDirect(direct.clients, key, slots);
    const b = await pullDirect(plain.clients, key, slots);
    assert.equal(a.length, 5);
    assert.deepEqual(encodeReplies(a), encodeReplies(b));
    assert.deepEqual(a.slice(3), b.slice(3));
    assert.equal(a[3]?.t, "null");
    // The fast path made no message: the response still holds its deliveries.
    assert.equal(deliveriesOf(lazy), DELIVERIES);
    assert.deepEqual(direct.requests, plain.requests);
    assert.deepEqual(direct.requests[0], {
      subscription: "q",
      maxMessages: 5,
      waitMs: 0,
      ackDeadlineMs: 60_000n,
      autoAck: false,
    });
  });

  it("a response whose messages were read answers from them", async () => {
    const lazy = pullResponseOf(DELIVERIES);
    lazy.messages.pop(); // read (made) and changed: the messages are what the response says now
    assert.equal(deliveriesOf(lazy), undefined);
    const replies = await pullDirect(clients(() => lazy).clients, JSON.stringify(["q", 60, false]), [null, null, null]);
    assert.deepEqual(
      replies.map((r) => r.t),
      ["event", "event", "null"],
    );
  });
});
