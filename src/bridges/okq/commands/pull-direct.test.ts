/**
 * pullDirect: the replies of one Pull for a run of pops are the same whether the in-process
 * transport hands the bridge the core's deliveries (deliveriesSinkKey) or the Pull is answered
 * as a message (the router, as over the wire); and the Pull asked for is okQ's.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createClient, createRouterTransport, type Transport } from "@connectrpc/connect";
import { type PullResponse, SubscriberService } from "../../../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery } from "../../../model/index.js";
import { ReceivedDeliveries } from "../../../rpc/convert.js";
import type { AnyUnaryImpl } from "../../../rpc/lean/hot-methods.js";
import { createDirectTransport } from "../../../server/in-process-transport.js";
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

/** Clients over the router, and over the direct transport in front of it, of one Pull implementation. */
function transports() {
  const requests: unknown[] = [];
  const pull = async (req: unknown) => {
    requests.push(req);
    return new ReceivedDeliveries(DELIVERIES);
  };
  const router = createRouterTransport((r) => r.service(SubscriberService, { pull: pull as never }));
  const direct = createDirectTransport(
    router,
    new Map([[SubscriberService.method.pull, pull as unknown as AnyUnaryImpl]]),
    [],
  );
  // The responses the direct transport answered, as the client got them.
  const answered: PullResponse[] = [];
  const recorded: Transport = {
    async unary(...a) {
      const res = await direct.unary(...a);
      answered.push(res.message as unknown as PullResponse);
      return res;
    },
    stream: direct.stream,
  };
  const clients = (t: Transport) => ({ subscriber: createClient(SubscriberService, t) }) as unknown as BrokerClients;
  return { viaRouter: clients(router), viaDirect: clients(recorded), requests, answered };
}

describe("okq pullDirect", () => {
  it("answers the same replies from the core's deliveries as from the response's messages, nil past them", async () => {
    const t = transports();
    const key = JSON.stringify(["q", 60, false]);
    const slots = new Array(5).fill(null);
    const a = await pullDirect(t.viaDirect, key, slots);
    assert.deepEqual(t.answered[0]?.messages, [], "the direct Pull made no message: the bridge took the deliveries");
    const b = await pullDirect(t.viaRouter, key, slots);
    assert.deepEqual(encodeReplies(a), encodeReplies(b));
    assert.deepEqual(
      a.map((r) => r.t),
      ["event", "event", "event", "null", "null"],
    );
    assert.deepEqual(encodeReplies(a.slice(0, 1)), Buffer.from("*2\r\n$2\r\ne1\r\n$3\r\none\r\n"));
    assert.equal(t.requests.length, 2);
    for (const r of t.requests) {
      assert.deepEqual(
        { ...(r as object), $typeName: undefined },
        {
          $typeName: undefined,
          subscription: "q",
          maxMessages: 5,
          waitMs: 0,
          ackDeadlineMs: 60_000n,
          autoAck: false,
          maxBytes: 0n,
        },
      );
    }
  });
});
