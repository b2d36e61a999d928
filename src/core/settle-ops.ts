/**
 * Settling leased deliveries: Ack, Nack, ModifyAckDeadline, Release and Reject, each with the
 * same checks of its targets and the same error for those that could not be settled. Leasing
 * them (Pull, Peek) is delivery-ops.ts.
 *
 * @module
 */
import { BrokerError } from "../errors/index.js";
import type { AckTargets } from "../model/index.js";
import type { SettleOutcome } from "../store/index.js";
import { getSubscription } from "./admin-ops.js";
import type { CoreContext } from "./context.js";
import { countingDeadLetters } from "./dead-letter-count.js";
import { validateNackError } from "./dead-letter-ops.js";
import { markUsed } from "./ephemeral.js";
import { scheduleExpirySweep } from "./expiry-sweep.js";
import { extendOutstanding, releaseOutstanding } from "./outstanding.js";
import { validateRange } from "./validate.js";

/** Most ack ids or message ids in one Ack/Nack/ModifyAckDeadline. */
const MAX_SETTLE_TARGETS = 10_000;

function settledCount(outcomes: readonly SettleOutcome[]): number {
  let n = 0;
  for (const o of outcomes) if (o === "ok") n++;
  return n;
}

function validateTargets(targets: AckTargets): void {
  const n = targets.ackIds.length + targets.messageIds.length;
  if (n === 0)
    throw new BrokerError("INVALID_ARGUMENT", "no ack_ids or message_ids given", { metadata: { field: "ack_ids" } });
  if (n > MAX_SETTLE_TARGETS) {
    throw new BrokerError("INVALID_ARGUMENT", `at most ${MAX_SETTLE_TARGETS} ids per call, got ${n}`, {
      metadata: { field: "ack_ids" },
    });
  }
}

const OUTCOME_REASON = {
  malformed: ["INVALID_ACK_ID", "is not an ack id of this subscription"],
  stale: ["LEASE_EXPIRED", "lease expired and the message was delivered again"],
  unknown: ["DELIVERY_UNKNOWN", "is not pending on this subscription (already acked or never delivered)"],
} as const;

/**
 * Every target that could be settled was; if any could not, the call fails with the reason of
 * the first failure and lists the failed ids in the metadata.
 */
function throwIfFailed(outcomes: SettleOutcome[], targets: AckTargets): void {
  if (outcomes.every((o) => o === "ok")) return; // the common case allocates nothing
  const ids = [...targets.ackIds, ...targets.messageIds];
  const failed = outcomes.flatMap((o, i) =>
    o === "ok" ? [] : [{ o, id: ids[i] as string, byToken: i < targets.ackIds.length }],
  );
  const first = failed[0];
  if (!first) return;
  const [reason, text] = OUTCOME_REASON[first.o];
  const what = first.byToken ? `ack id "${first.id}"` : `message id "${first.id}"`;
  throw new BrokerError(reason, `${what} ${text}${failed.length > 1 ? ` (and ${failed.length - 1} more)` : ""}`, {
    metadata: {
      failed_ack_ids: failed
        .filter((f) => f.byToken)
        .map((f) => f.id)
        .join(","),
      failed_message_ids: failed
        .filter((f) => !f.byToken)
        .map((f) => f.id)
        .join(","),
      settled: String(outcomes.length - failed.length),
    },
  });
}

/** Settles deliveries as done (see Broker.ack); an ordered subscription's next message may then go. */
export async function ack(ctx: CoreContext, subscription: string, targets: AckTargets): Promise<void> {
  const sub = await getSubscription(ctx, subscription);
  markUsed(ctx, sub.name);
  validateTargets(targets);
  const acked = ctx.store.ack(sub.name, { tokens: targets.ackIds, messageIds: targets.messageIds }, ctx.clock.now());
  // The consumer holds these no more: its streams' windows take more now, not after the ack's
  // sync. The messages stay leased in the store until the ack is written, so none goes out twice;
  // an ack that fails leaves them to their lease deadline, as a lost ack would.
  releaseOutstanding(ctx, sub.name, targets.ackIds, targets.messageIds);
  const outcomes = await acked;
  ctx.metrics.acked(sub.topic, sub.name, settledCount(outcomes));
  // Ordered: an ack frees its ordering key for the next message, which other consumers may wait for.
  if (sub.ordered) ctx.notifier.notify(sub.topic);
  throwIfFailed(outcomes, targets);
}

/** Settles deliveries as failed (see Broker.nack): retried after a delay, or dead-lettered. */
export async function nack(
  ctx: CoreContext,
  subscription: string,
  targets: AckTargets,
  delayMs: number,
  error = "",
): Promise<void> {
  const sub = await getSubscription(ctx, subscription);
  markUsed(ctx, sub.name);
  validateTargets(targets);
  validateRange("delay_ms", delayMs, 0, ctx.limits.maxAckDeadlineMs * 100);
  validateNackError(error);
  const now = ctx.clock.now();
  const outcomes = await countingDeadLetters(ctx, sub, () =>
    ctx.store.nack(sub.name, { tokens: targets.ackIds, messageIds: targets.messageIds }, now + delayMs, now, {
      failed: true,
      error,
    }),
  );
  releaseOutstanding(ctx, sub.name, targets.ackIds, targets.messageIds);
  ctx.metrics.nacked(sub.topic, sub.name, settledCount(outcomes));
  ctx.notifier.notify(sub.topic);
  if (sub.deadLetterTopic !== "") ctx.notifier.notify(sub.deadLetterTopic);
  throwIfFailed(outcomes, targets);
}

/** Sets the leases of deliveries to end `ackDeadlineMs` from now; 0 gives them back as a Nack does. */
export async function modifyAckDeadline(
  ctx: CoreContext,
  subscription: string,
  ackIds: readonly string[],
  ackDeadlineMs: number,
): Promise<void> {
  if (ackDeadlineMs === 0) return nack(ctx, subscription, { ackIds, messageIds: [] }, 0);
  const sub = await getSubscription(ctx, subscription);
  markUsed(ctx, sub.name);
  validateTargets({ ackIds, messageIds: [] });
  validateRange("ack_deadline_ms", ackDeadlineMs, 0, ctx.limits.maxAckDeadlineMs);
  const now = ctx.clock.now();
  const outcomes = await ctx.store.extend(sub.name, ackIds, now + ackDeadlineMs, now);
  extendOutstanding(
    ctx,
    sub.name,
    ackIds.filter((_, i) => outcomes[i] === "ok"),
    now + ackDeadlineMs,
  );
  // An extended lease may be on its last attempt: apply its end, too (dead letter).
  if (sub.maxDeliveryAttempts > 0 && outcomes.includes("ok")) scheduleExpirySweep(ctx, sub, now + ackDeadlineMs);
  ctx.notifier.notify(sub.topic);
  throwIfFailed(outcomes, { ackIds, messageIds: [] });
}

/** Gives leases back without a failure: available again at once (see Broker.release). */
export async function release(ctx: CoreContext, subscription: string, ackIds: readonly string[]): Promise<void> {
  if (ackIds.length === 0) return;
  const sub = await getSubscription(ctx, subscription);
  validateTargets({ ackIds, messageIds: [] });
  const now = ctx.clock.now();
  await ctx.store.nack(sub.name, { tokens: ackIds, messageIds: [] }, now, now);
  releaseOutstanding(ctx, sub.name, ackIds, []);
  ctx.notifier.notify(sub.topic);
}

/**
 * Deliveries that can never succeed as they are (see Broker.reject): they leave the subscription
 * at once for the dead-letter topic, or are dropped; resolves with how many left.
 */
export async function reject(
  ctx: CoreContext,
  subscription: string,
  ackIds: readonly string[],
  error: string,
): Promise<number> {
  const sub = await getSubscription(ctx, subscription);
  validateTargets({ ackIds, messageIds: [] });
  validateNackError(error);
  const { outcomes, left } = await countingDeadLetters(
    ctx,
    sub,
    () => ctx.store.reject(sub.name, ackIds, ctx.clock.now(), error),
    true,
  );
  releaseOutstanding(ctx, sub.name, ackIds, []);
  ctx.metrics.nacked(sub.topic, sub.name, settledCount(outcomes));
  // Ordered: the key passes on to the next message, which a consumer may wait for.
  ctx.notifier.notify(sub.topic);
  if (sub.deadLetterTopic !== "") ctx.notifier.notify(sub.deadLetterTopic);
  throwIfFailed(outcomes, { ackIds, messageIds: [] });
  return left;
}
