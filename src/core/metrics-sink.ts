import type { Delivery } from "../model/index.js";

/**
 * Where the core reports what it did, for the server's metrics (README "Metrics"). Called at the
 * boundary of each core operation, after the store has answered; never inside the store. Every
 * method must be cheap and must not throw.
 */
export interface BrokerMetricsSink {
  /** Messages stored by a publish (duplicates excluded) and their data bytes. */
  published(topic: string, messages: number, bytes: number): void;
  /** Messages leased to a consumer (Pull or a Subscribe batch); `redelivered` of them had an attempt > 1. */
  delivered(topic: string, subscription: string, messages: number, bytes: number, redelivered: number): void;
  /** Messages removed from a subscription by an ack (explicit, or a Pull with auto-ack). */
  acked(topic: string, subscription: string, messages: number): void;
  /** Messages given back as failed by a nack (or ModifyAckDeadline 0). */
  nacked(topic: string, subscription: string, messages: number): void;
  /**
   * Messages that used up `max_delivery_attempts` on `subscription` of `topic` (moved to the
   * dead-letter topic, or dropped when none is set), reported when the core's operation that did
   * it (a nack, a lease, an expiry sweep) has finished.
   */
  deadLettered(topic: string, subscription: string, messages: number): void;
}

/** The default sink: counts nothing. */
export const noBrokerMetrics: BrokerMetricsSink = {
  published() {},
  delivered() {},
  acked() {},
  nacked() {},
  deadLettered() {},
};

/** Reports a batch of deliveries to the sink. */
export function reportDelivered(
  sink: BrokerMetricsSink,
  topic: string,
  subscription: string,
  deliveries: readonly Delivery[],
): void {
  let bytes = 0;
  let redelivered = 0;
  for (const d of deliveries) {
    bytes += d.message.data.length;
    if (d.deliveryAttempt > 1) redelivered++;
  }
  sink.delivered(topic, subscription, deliveries.length, bytes, redelivered);
}
