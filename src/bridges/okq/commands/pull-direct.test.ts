/**
 * pullDirect: the replies of one Pull for a run of pops, from the in-process transport's response
 * and from the same response decoded from the wire.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { PullResponseSchema } from "../../../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../../../model/index.js";
import { ReceivedDeliveries } from "../../../rpc/convert.js";
import { pullResponseOf } from "../../../rpc/pull-response.js";
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
  it("answers each message's id and contents, nil past them, for the Pull okQ means", async () => {
    // The in-process transport's response and the one decoded from the wire give the same replies.
    const direct = clients(() => pullResponseOf(DELIVERIES));
    const plain = clients(() => create(PullResponseSchema, new ReceivedDeliveries(DELIVERIES)));
    const key = JSON.stringify(["q", 60, false]);
    const slots = new Array(5).fill(null);
    const a = await pullDirect(direct.clients, key, slots);
    const b = await pullDirect(plain.clients, key, slots);
    assert.equal(a.length, 5);
    assert.deepEqual(encodeReplies(a), encodeReplies(b));
    assert.deepEqual(
      a.map((r) => r.t),
      ["event", "event", "event", "null", "null"],
    );
    assert.deepEqual(encodeReplies(a.slice(0, 1)), Buffer.from("*2\r\n$2\r\ne1\r\n$3\r\none\r\n"));
    assert.deepEqual(direct.requests, plain.requests);
    assert.deepEqual(direct.requests[0], {
      subscription: "q",
      maxMessages: 5,
      waitMs: 0,
      ackDeadlineMs: 60_000n,
      autoAck: false,
    });
  });
});
