import { BrokerError, invalidArgument } from "../errors/index.js";
import type { Delivery, SubscriptionInfo, SubscriptionSettings } from "../model/index.js";
import type { CoreContext } from "./context.js";
import { scheduleExpirySweep } from "./expiry-sweep.js";
import { validateName, validateRange } from "./validate.js";

/** Longest `error` text a Nack may carry (it becomes an attribute of the dead letter). */
export const MAX_NACK_ERROR_BYTES = 1024;
/** Messages moved per Redrive transaction: each step is atomic on its own. */
export const REDRIVE_CHUNK = 500;
/** Dead-letter log entries looked at per Redrive transaction. */
export const REDRIVE_SCAN = 5000;
/** Most filter entries of a Redrive. */
const MAX_FILTER_ENTRIES = 100;
/** How often a subscription's "cannot dead-letter" warning may repeat. */
const WARN_EVERY_MS = 60_000;

/**
 * A dead-letter topic must exist when it is set (as in Pub/Sub). Checked on create, and on
 * update when it changes; if it is deleted later, messages that used up their attempts stay
 * on their subscription (never lost) and {@link warnIfDeadLetterBlocked} logs it.
 */
export async function checkDeadLetterTopic(
  ctx: CoreContext,
  settings: SubscriptionSettings,
  previous?: SubscriptionSettings,
): Promise<void> {
  const name = settings.deadLetterTopic;
  if (name === "" || name === previous?.deadLetterTopic) return;
  if (!(await ctx.store.getTopic(name))) {
    throw new BrokerError("TOPIC_NOT_FOUND", `dead-letter topic "${name}" does not exist`, {
      metadata: { topic: name, field: "dead_letter_topic" },
    });
  }
}

/** Validates a Nack's `error` text. */
export function validateNackError(error: string): void {
  if (Buffer.byteLength(error) > MAX_NACK_ERROR_BYTES) {
    throw invalidArgument(`error is longer than ${MAX_NACK_ERROR_BYTES} bytes`, "error");
  }
}

/**
 * After a lease on a subscription with `max_delivery_attempts`: wakes readers of the
 * dead-letter topic (the lease may have dead-lettered expired leases), and when a delivery is on
 * its last attempt, applies the subscription's due times right after its lease ends, so the
 * message reaches the dead-letter topic even if no consumer asks for more. (After a restart,
 * the next pull or stream on the subscription does it.)
 */
export async function afterLease(
  ctx: CoreContext,
  sub: SubscriptionInfo,
  deliveries: readonly Delivery[],
  deadlineMs: number,
): Promise<void> {
  if (sub.maxDeliveryAttempts <= 0 || deliveries.length === 0) return;
  if (sub.deadLetterTopic !== "") ctx.notifier.notify(sub.deadLetterTopic);
  if (deliveries.some((d) => d.deliveryAttempt >= sub.maxDeliveryAttempts)) scheduleExpirySweep(ctx, sub, deadlineMs);
  await warnIfDeadLetterBlocked(ctx, sub, deliveries);
}

/**
 * A delivery past `max_delivery_attempts` means an earlier failure could not be dead-lettered
 * (or the limit was lowered, or a stream gave the message back unprocessed). When the
 * dead-letter topic is missing, has no subscription, or would not keep the dead letter (every
 * subscription's filter or a limit refused it), the message stays on its subscription instead of
 * being lost: say so in the log, at most once a minute per subscription.
 */
export async function warnIfDeadLetterBlocked(
  ctx: CoreContext,
  sub: SubscriptionInfo,
  deliveries: readonly Delivery[],
): Promise<void> {
  if (sub.deadLetterTopic === "" || sub.maxDeliveryAttempts <= 0) return;
  const over = deliveries.find((d) => d.deliveryAttempt > sub.maxDeliveryAttempts);
  if (!over) return;
  const warned = ctx.deadLetterWarnedMs;
  const now = ctx.clock.now();
  if (now - (warned.get(sub.name) ?? Number.NEGATIVE_INFINITY) < WARN_EVERY_MS) return;
  try {
    const dlq = await ctx.store.getTopic(sub.deadLetterTopic);
    const subscriptions = dlq ? (await ctx.store.topicCounters(dlq.name)).subscriptions : 0;
    warned.set(sub.name, now);
    ctx.logger.warn("messages past max_delivery_attempts stay on their subscription", {
      reason: !dlq
        ? "DEAD_LETTER_TOPIC_NOT_FOUND"
        : subscriptions === 0
          ? "DEAD_LETTER_TOPIC_HAS_NO_SUBSCRIPTION"
          : "DEAD_LETTER_REFUSED", // every subscription's filter, or a limit, refused it
      subscription: sub.name,
      dead_letter_topic: sub.deadLetterTopic,
      seq: over.message.seq,
      attempt: over.deliveryAttempt,
    });
  } catch {
    // Only a log line: a deleted subscription or a closing store is not worth failing a pull.
  }
}

/**
 * Redrive (README "Retries and dead letters"): moves the subscription's dead letters back to it,
 * all (`maxMessages` 0) or up to `maxMessages`, optionally only those whose attributes match
 * `filter`. Runs in bounded atomic steps: a message is at any time either a dead letter or back
 * on its subscription, never both and never neither; a failure partway reports how many moved.
 */
export async function redrive(
  ctx: CoreContext,
  subscription: string,
  maxMessages: number,
  filter: Readonly<Record<string, string>>,
): Promise<number> {
  validateName("subscription", subscription);
  validateRange("max_messages", maxMessages, 0, Number.MAX_SAFE_INTEGER);
  const entries = Object.entries(filter);
  if (entries.length > MAX_FILTER_ENTRIES) {
    throw invalidArgument(`filter has more than ${MAX_FILTER_ENTRIES} entries`, "filter");
  }
  if (entries.some(([k]) => k === "")) throw invalidArgument("filter has an empty attribute name", "filter");
  const sub = await ctx.store.getSubscription(subscription);
  if (!sub) {
    throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `subscription "${subscription}" does not exist`, {
      metadata: { subscription },
    });
  }
  const limit = maxMessages || Number.POSITIVE_INFINITY;
  const untilSeq = await deadLetterLogEnd(ctx, sub.deadLetterTopic);
  let moved = 0;
  let afterSeq = 0;
  for (;;) {
    if (ctx.shutdown.signal.aborted) throw partial(ctx.shutdown.signal.reason, moved);
    const want = Math.min(REDRIVE_CHUNK, limit - moved);
    let step: Awaited<ReturnType<typeof ctx.store.redrive>>;
    try {
      step = await ctx.store.redrive(
        subscription,
        { maxMessages: want, filter, afterSeq, untilSeq, maxScan: REDRIVE_SCAN },
        ctx.clock.now(),
      );
    } catch (e) {
      throw partial(e, moved);
    }
    moved += step.moved;
    afterSeq = step.lastSeq;
    if (step.moved > 0) ctx.notifier.notify(sub.topic);
    if (step.done || moved >= limit) return moved;
  }
}

/**
 * The last seq of the dead-letter log now (0 when there is none): a Redrive looks no further.
 * Without a dead-letter topic the store step itself reports why.
 */
async function deadLetterLogEnd(ctx: CoreContext, topic: string): Promise<number> {
  if (topic === "" || !(await ctx.store.getTopic(topic))) return 0;
  return (await ctx.store.topicCounters(topic)).lastSeq;
}

/** A failure partway through a Redrive: the error as it is, with how many moved before it. */
function partial(e: unknown, moved: number): unknown {
  if (moved === 0 || !(e instanceof BrokerError)) return e;
  return new BrokerError(e.reason, `${e.message} (after ${moved} messages were redriven)`, {
    metadata: { ...e.metadata, redriven: String(moved) },
    cause: e.cause,
  });
}
