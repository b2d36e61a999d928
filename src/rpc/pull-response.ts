/**
 * The Pull response of a direct in-process call (src/server/in-process-transport.ts), built from the
 * core's deliveries in one pass: the very messages `create(PullResponseSchema, new
 * ReceivedDeliveries(d))` makes (pull-response.test.ts holds the two equal), without the init
 * objects that path makes first for each delivered message (convert.ts `received`). A caller that
 * wants only the core's deliveries asks for them with {@link deliveriesSinkKey}.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { createContextKey } from "@connectrpc/connect";
import type { PullResponse } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Message, ReceivedMessage } from "../../gen/switchyard/v1/types_pb.js";
import type { Delivery, StoredMessage } from "../model/index.js";

/** A Timestamp of epoch milliseconds, as `create(TimestampSchema, timestampInit(ms))` makes it. */
function timestamp(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return { $typeName: "google.protobuf.Timestamp", seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}

/**
 * A Message as `create` makes it from `message(m)` (convert.ts): every field set in
 * field order, `data` and `attributes` the stored message's own, the optional times absent when 0.
 */
function messageOf(m: StoredMessage): Message {
  const out: Message = {
    $typeName: "switchyard.v1.Message",
    topic: m.topic,
    seq: BigInt(m.seq),
    id: m.id,
    data: m.data,
    attributes: m.attributes,
    publishTime: timestamp(m.publishTimeMs),
    priority: m.priority,
    orderingKey: m.orderingKey,
  };
  if (m.deliverAtMs > 0) out.deliverAt = timestamp(m.deliverAtMs);
  if (m.expireAtMs > 0) out.expireAt = timestamp(m.expireAtMs);
  return out;
}

function receivedOf(d: Delivery): ReceivedMessage {
  return {
    $typeName: "switchyard.v1.ReceivedMessage",
    ackId: d.ackId,
    message: messageOf(d.message),
    deliveryAttempt: d.deliveryAttempt,
  };
}

/**
 * The PullResponse of `deliveries`: a plain message, equal key for key to what `create` makes
 * (pull-response.test.ts), with every delivery's message made in one pass.
 */
export function pullResponseOf(deliveries: readonly Delivery[]): PullResponse {
  const messages: ReceivedMessage[] = new Array(deliveries.length);
  for (let i = 0; i < deliveries.length; i++) messages[i] = receivedOf(deliveries[i] as Delivery);
  return { $typeName: "switchyard.v1.PullResponse", messages };
}

/** Where a direct in-process Pull leaves the core's deliveries for its caller ({@link deliveriesSinkKey}). */
export interface DeliveriesSink {
  /** The deliveries of the call, once the direct transport answered it; undefined otherwise. */
  deliveries: readonly Delivery[] | undefined;
}

/**
 * A Pull's caller that sets a sink under this key in its call's context values
 * (`CallOptions.contextValues`) takes the core's deliveries from it, and no message is made for
 * them: when the in-process transport answers the call directly (src/server/in-process-transport.ts),
 * it puts the deliveries in the sink and answers a PullResponse with no messages. A call that goes
 * any other way (the router, the wire) leaves the sink empty and answers its messages as usual.
 */
export const deliveriesSinkKey = createContextKey<DeliveriesSink | undefined>(undefined, {
  description: "switchyard in-process Pull deliveries",
});
