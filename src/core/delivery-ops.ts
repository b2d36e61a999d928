/**
 * Leasing deliveries: Pull (a long-poll that leases) and Peek (one that only looks), and the
 * helpers the streaming Subscribe shares with them. Settling what was leased is settle-ops.ts.
 *
 * @module
 */
import { BrokerError } from "../errors/index.js";
import type { Delivery, PullRequest, SubscriptionInfo } from "../model/index.js";
import { linkSignals } from "../util/index.js";
import { getSubscription } from "./admin-ops.js";
import type { CoreContext } from "./context.js";
import { countingDeadLetters } from "./dead-letter-count.js";
import { afterLease } from "./dead-letter-ops.js";
import { markUsed } from "./ephemeral.js";
import { reportDelivered } from "./metrics-sink.js";
import { validateRange } from "./validate.js";
import { waitForChange } from "./wait.js";

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
