import type { ServiceImpl } from "@connectrpc/connect";
import type { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Broker } from "../core/index.js";
import type { Logger } from "../util/index.js";
import { ReceivedDeliveries, received, toNumber } from "./convert.js";
import { mapErrors, toConnectError } from "./to-connect-error.js";

/** Time kept back from a client's deadline so an empty long-poll answers before it expires. */
const DEADLINE_MARGIN_MS = 50;

/** A long-poll wait bounded by the client's own deadline (if it sent one). */
function boundedWait(waitMs: number, timeoutMs: number | undefined): number {
  return timeoutMs === undefined ? waitMs : Math.max(0, Math.min(waitMs, timeoutMs - DEADLINE_MARGIN_MS));
}

/** SubscriberService on the broker core. */
export function subscriberService(broker: Broker, logger: Logger): ServiceImpl<typeof SubscriberService> {
  return {
    pull: mapErrors(logger, async (req, ctx) => {
      const got = await broker.pull(
        {
          subscription: req.subscription,
          maxMessages: req.maxMessages,
          waitMs: boundedWait(req.waitMs, ctx.timeoutMs()),
          ackDeadlineMs: toNumber(req.ackDeadlineMs, "ack_deadline_ms"),
          autoAck: req.autoAck,
          maxBytes: toNumber(req.maxBytes, "max_bytes"),
        },
        ctx.signal,
      );
      return new ReceivedDeliveries(got);
    }),
    subscribe: async function* (req, ctx) {
      try {
        const stream = broker.subscribe(
          {
            subscription: req.subscription,
            maxOutstandingMessages: req.maxOutstandingMessages,
            maxOutstandingBytes: toNumber(req.maxOutstandingBytes, "max_outstanding_bytes"),
            ackDeadlineMs: toNumber(req.ackDeadlineMs, "ack_deadline_ms"),
          },
          ctx.signal,
        );
        // connect-node awaits the write (and 'drain') between yields, so a slow reader pauses
        // the core generator; the window bounds what it holds.
        // The lean path encodes the deliveries as they are (delivery-encoder.ts); connect-node
        // and in-process clients read `messages`, made on first read.
        for await (const got of stream) yield new ReceivedDeliveries(got);
      } catch (e) {
        throw toConnectError(e, logger);
      }
    },
    ack: mapErrors(logger, async (req) => {
      await broker.ack(req.subscription, { ackIds: req.ackIds, messageIds: req.messageIds });
      return {};
    }),
    nack: mapErrors(logger, async (req) => {
      const delayMs = toNumber(req.delayMs, "delay_ms");
      await broker.nack(req.subscription, { ackIds: req.ackIds, messageIds: req.messageIds }, delayMs, req.error);
      return {};
    }),
    modifyAckDeadline: mapErrors(logger, async (req) => {
      await broker.modifyAckDeadline(req.subscription, req.ackIds, toNumber(req.ackDeadlineMs, "ack_deadline_ms"));
      return {};
    }),
    peek: mapErrors(logger, async (req, ctx) => ({
      messages: (
        await broker.peek(req.subscription, req.maxMessages, boundedWait(req.waitMs, ctx.timeoutMs()), ctx.signal, {
          fromBack: req.fromBack,
          maxBytes: toNumber(req.maxBytes, "max_bytes"),
        })
      ).map(received),
    })),
  };
}
