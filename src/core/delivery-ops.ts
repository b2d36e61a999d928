import { BrokerError } from "../errors/index.js";
import type { AckTargets, Delivery, PullRequest, SubscriptionInfo } from "../model/index.js";
import type { SettleOutcome } from "../store/index.js";
import { linkSignals } from "../util/index.js";
import { getSubscription } from "./admin-ops.js";
import type { CoreContext } from "./context.js";
import { countingDeadLetters } from "./dead-letter-count.js";
import { afterLease, validateNackError } from "./dead-letter-ops.js";
import { markUsed } from "./ephemeral.js";
import { scheduleExpirySweep } from "./expiry-sweep.js";
import { reportDelivered } from "./metrics-sink.js";
import { extendOutstanding, releaseOutstanding } from "./outstanding.js";
import { validateRange } from "./validate.js";
import { waitForChange } from "./wait.js";

/** Most ack ids or message ids in one Ack/Nack/ModifyAckDeadline. */
const MAX_SETTLE_TARGETS = 10_000;

export function toDelivery(r: { token: string; message: Delivery["message"]; attempt: number }): Delivery {
  return { ackId: r.token, message: r.message, deliveryAttempt: r.attempt };
}

/** What an aborted wait reports: the broker's own reason (shutdown), else CANCELED. */
export function abortError(reason: unknown): BrokerError {
  if (reason instanceof BrokerError) return reason;
  return new BrokerError("CANCELED", "the call was canceled", { cause: reason });
}

/**
 * A push subscription is delivered by the broker (the push agent): a consumer leasing its
 * messages would take them from the pushes, out of their order. Refused, as Pub/Sub does.
 */
export function refuseIfPush(sub: SubscriptionInfo): void {
  if (sub.push === null) return;
  throw new BrokerError(
    "PUSH_SUBSCRIPTION",
    `subscription "${sub.name}" is a push subscription: the broker delivers its messages itself (remove its push config to pull)`,
    { metadata: { subscription: sub.name } },
  );
}

/**
 * A Pull with auto_ack ended (cancelled, or the broker shutting down) while its ack was being
 * synced. At most once means the ack is on disk before the response can go out, so what it took
 * cannot be given back without risking a second delivery: it is acked and, most likely, never
 * reaches the client. Said in the log, with the seqs, so an operator can replay them (Seek) if needed.
 */
function reportUnsentAutoAck(ctx: CoreContext, subscription: string, deliveries: readonly Delivery[]): void {
  ctx.logger.warn(
    "a Pull with auto_ack ended while its ack was being synced: its messages were acked and may not have been sent",
    {
      subscription,
      messages: deliveries.length,
      seqs: deliveries.map((d) => String(d.message.seq)).join(","),
    },
  );
}

/** Long-poll pull: leases what is available, else waits for a publish, a due time or the deadline. */
export async function pull(ctx: CoreContext, req: PullRequest, signal: AbortSignal): Promise<Delivery[]> {
  const { limits, clock, store, notifier } = ctx;
  let sub = await getSubscription(ctx, req.subscription);
  if (!req.pushAgent) refuseIfPush(sub);
  validateRange("max_messages", req.maxMessages, 0, limits.maxPullMessages);
  validateRange("wait_ms", req.waitMs, 0, Number.MAX_SAFE_INTEGER);
  validateRange("ack_deadline_ms", req.ackDeadlineMs, 0, limits.maxAckDeadlineMs);
  validateRange("max_bytes", req.maxBytes ?? 0, 0, limits.maxRequestedResponseBytes);
  const max = req.maxMessages || limits.defaultPullMessages;
  // A response must fit what the client accepts; with auto_ack only what it carries is acked.
  const maxBytes = req.maxBytes || limits.maxResponseBytes;
  const link = linkSignals(signal, ctx.shutdown.signal);
  const linked = link.signal;
  const deadline = clock.now() + Math.min(req.waitMs, limits.maxWaitMs);
  ctx.consumers.set(sub.name, (ctx.consumers.get(sub.name) ?? 0) + 1);
  try {
    for (;;) {
      if (linked.aborted) throw abortError(linked.reason);
      const seen = notifier.version(sub.topic);
      if (!sub.paused) {
        const leaseMs = req.ackDeadlineMs || sub.ackDeadlineMs;
        const got = await countingDeadLetters(ctx, sub, () =>
          store.lease(sub.name, {
            max,
            maxBytes,
            leaseMs,
            nowMs: clock.now(),
            autoAck: req.autoAck,
            ...(req.autoAck ? { signal: linked } : {}),
          }),
        );
        if (got.length > 0) {
          const deliveries = got.map(toDelivery);
          reportDelivered(ctx.metrics, sub.topic, sub.name, deliveries);
          if (req.autoAck) ctx.metrics.acked(sub.topic, sub.name, deliveries.length);
          await afterLease(ctx, sub, deliveries, clock.now() + leaseMs);
          if (req.autoAck && linked.aborted) reportUnsentAutoAck(ctx, sub.name, deliveries);
          return deliveries;
        }
      }
      const now = clock.now();
      if (now >= deadline) return [];
      const due = sub.paused ? undefined : await store.nextDueMs(sub.name);
      const wakeAt = Math.min(deadline, due ?? Number.POSITIVE_INFINITY);
      try {
        await waitForChange(notifier, clock, sub.topic, seen, wakeAt - now, linked);
      } catch (e) {
        throw abortError(e);
      }
      sub = await getSubscription(ctx, sub.name);
    }
  } finally {
    link.dispose();
    markUsed(ctx, sub.name);
    const n = (ctx.consumers.get(sub.name) ?? 1) - 1;
    if (n > 0) ctx.consumers.set(sub.name, n);
    else ctx.consumers.delete(sub.name);
  }
}

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

/**
 * Lists available messages without leasing them. With `waitMs`, a long-poll: when nothing is
 * available it waits (like {@link pull}, capped by the server's wait limit) for a publish, a
 * nack, an expired lease or an elapsed delay, then answers what is available (possibly nothing).
 */
export async function peek(
  ctx: CoreContext,
  subscription: string,
  maxMessages: number,
  waitMs = 0,
  signal?: AbortSignal,
  options: { fromBack?: boolean; maxBytes?: number } = {},
): Promise<Delivery[]> {
  const { limits, clock, store, notifier } = ctx;
  let sub = await getSubscription(ctx, subscription);
  markUsed(ctx, sub.name);
  validateRange("max_messages", maxMessages, 0, limits.maxPullMessages);
  validateRange("wait_ms", waitMs, 0, Number.MAX_SAFE_INTEGER);
  validateRange("max_bytes", options.maxBytes ?? 0, 0, limits.maxRequestedResponseBytes);
  const max = maxMessages || limits.defaultPullMessages;
  const maxBytes = options.maxBytes || limits.maxResponseBytes;
  const link = signal ? linkSignals(signal, ctx.shutdown.signal) : undefined;
  const linked = link?.signal ?? ctx.shutdown.signal;
  const deadline = clock.now() + Math.min(waitMs, limits.maxWaitMs);
  try {
    for (;;) {
      if (linked.aborted) throw abortError(linked.reason);
      const seen = notifier.version(sub.topic);
      const got = await store.peek(sub.name, max, clock.now(), options.fromBack === true, maxBytes);
      const now = clock.now();
      if (got.length > 0 || now >= deadline) return got.map(toDelivery);
      const due = await store.nextDueMs(sub.name);
      try {
        await waitForChange(
          notifier,
          clock,
          sub.topic,
          seen,
          Math.min(deadline, due ?? Number.POSITIVE_INFINITY) - now,
          linked,
        );
      } catch (e) {
        throw abortError(e);
      }
      sub = await getSubscription(ctx, sub.name);
    }
  } finally {
    link?.dispose();
  }
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
