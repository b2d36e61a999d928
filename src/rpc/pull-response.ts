/**
 * The Pull response of a direct in-process call (src/server/in-process-transport.ts), built from the core's
 * deliveries in one pass, when it is read: the very messages `create(PullResponseSchema, new
 * ReceivedDeliveries(d))` makes (pull-response.test.ts holds the two equal), without the init
 * objects that path makes first for each delivered message (convert.ts `received`). A bridge that
 * reads only each delivery's id and data takes them from the deliveries ({@link deliveriesOf}).
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
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

/** Where a response made by {@link pullResponseOf} keeps its deliveries until its messages are read. */
const kDeliveries = Symbol("switchyard.pullDeliveries");

/** Makes `messages` a plain data property of `res` holding `value` (and forgets the deliveries). */
function settle(res: PullResponse, value: ReceivedMessage[]): void {
  Object.defineProperty(res, "messages", { value, writable: true, enumerable: true, configurable: true });
  delete (res as { [kDeliveries]?: unknown })[kDeliveries];
}

/**
 * The PullResponse of `deliveries`. Its `messages` are made on first read (then kept, a plain
 * property like any other): a reader of the message sees exactly what `create` makes, while a
 * bridge that wants only each delivery's id and data reads them with {@link deliveriesOf} and
 * no message is made at all. The deliveries are kept under a symbol that is not enumerable, so
 * equality, JSON and `for…in` see the same keys, in the same order, as on `create`'s message.
 */
export function pullResponseOf(deliveries: readonly Delivery[]): PullResponse {
  const res: PullResponse = { $typeName: "switchyard.v1.PullResponse", messages: [] };
  Object.defineProperty(res, "messages", {
    enumerable: true,
    configurable: true,
    get(): ReceivedMessage[] {
      const messages: ReceivedMessage[] = new Array(deliveries.length);
      for (let i = 0; i < deliveries.length; i++) messages[i] = receivedOf(deliveries[i] as Delivery);
      settle(res, messages);
      return messages;
    },
    set(value: ReceivedMessage[]) {
      settle(res, value);
    },
  });
  Object.defineProperty(res, kDeliveries, { value: deliveries, configurable: true });
  return res;
}

/**
 * The core's deliveries a response of {@link pullResponseOf} was made of, while its `messages`
 * have not been read or set (after that, they are what the response says); undefined for any
 * other response (one decoded from the wire, say).
 */
export function deliveriesOf(res: PullResponse): readonly Delivery[] | undefined {
  return (res as { [kDeliveries]?: readonly Delivery[] })[kDeliveries];
}
