/**
 * The push worker's lease calls on the core that may find a lease gone, and what each such
 * answer means: a lease that is no longer ours is not an error (a Seek moved the subscription,
 * the lease ran out, the subscription was deleted), anything else is logged and the lease
 * expires on its own, so the message goes out again (README "Push subscriptions (webhooks)").
 *
 * @module
 */
import type { Broker, Delivery } from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import type { Logger } from "../util/index.js";

/** Whether a lease call failed because the lease is no longer ours (expired, or moved by a Seek). */
function leaseGone(e: unknown): e is BrokerError {
  return e instanceof BrokerError && (e.reason === "LEASE_EXPIRED" || e.reason === "DELIVERY_UNKNOWN");
}

/** Renews the lease of a delivery that waited; false when it is no longer ours. Other failures throw. */
export async function renewLease(
  broker: Broker,
  subscription: string,
  ackId: string,
  leaseMs: number,
): Promise<boolean> {
  try {
    await broker.modifyAckDeadline(subscription, [ackId], leaseMs);
    return true;
  } catch (e) {
    if (leaseGone(e)) return false;
    throw e;
  }
}

/** Gives leases back at once (Release). Never throws: a failure is logged and the leases expire on their own. */
export async function giveBackLeases(
  broker: Broker,
  logger: Logger,
  subscription: string,
  ackIds: string[],
): Promise<void> {
  if (ackIds.length === 0) return;
  try {
    await broker.release(subscription, ackIds);
  } catch (e) {
    if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") return;
    logger.warn("could not give back push leases; they expire on their own", { subscription, error: e });
  }
}

/** Logs a failed settle (ack, nack, reject) of a delivery, as what it means for the message. */
export function reportSettleFailure(logger: Logger, subscription: string, delivery: Delivery, e: unknown): void {
  if (e instanceof BrokerError && e.reason === "SUBSCRIPTION_NOT_FOUND") return;
  if (leaseGone(e)) {
    // A Seek moved the subscription past it, or its lease ran out meanwhile: nothing to settle.
    logger.info("push delivery was settled elsewhere meanwhile", { subscription, reason: e.reason });
    return;
  }
  logger.warn("push settle failed; the lease will expire and the message goes out again", {
    subscription,
    seq: delivery.message.seq,
    error: e,
  });
}
