import { BrokerError } from "../errors/index.js";
import type { SubscriptionChange, SubscriptionInfo } from "../model/index.js";
import type { CoreContext } from "./context.js";

/**
 * Counting dead letters when they happen, for the metrics sink. The store moves a message out
 * after its last attempt inside a nack, a lease or an expiry sweep, and keeps a count per
 * subscription (`Store.deadLettered`) without saying which call moved how many (a reject moves
 * messages out whatever their attempts, and counts them the same way). So around each
 * such call, on subscriptions with `max_delivery_attempts`, the core reads that count and reports
 * what it grew by since it last looked ({@link DeadLetterTally}); concurrent calls never report
 * the same growth twice, because the tally only moves up.
 */

/** The last count seen per subscription (name → count and topic). Internal to the core. */
export type DeadLetterTally = Map<string, { count: number; topic: string }>;

/** The store's count, or undefined when the subscription is gone. */
async function readCount(ctx: CoreContext, subscription: string): Promise<number | undefined> {
  try {
    return await ctx.store.deadLettered(subscription);
  } catch (e) {
    if (e instanceof BrokerError && (e.reason === "SUBSCRIPTION_NOT_FOUND" || e.reason === "SHUTTING_DOWN")) {
      return undefined;
    }
    throw e;
  }
}

/**
 * Runs `operation` (a store call that may move messages out after their last attempt) and
 * reports the dead letters it caused to `ctx.metrics.deadLettered`. Subscriptions without
 * `max_delivery_attempts` dead-letter nothing that way and cost no extra read, unless `always`
 * (a reject, which dead-letters whatever the attempts).
 */
export async function countingDeadLetters<T>(
  ctx: CoreContext,
  sub: SubscriptionInfo,
  operation: () => Promise<T>,
  always = false,
): Promise<T> {
  if (sub.maxDeliveryAttempts <= 0 && !always) return operation();
  const tally = ctx.deadLetterTally;
  const before = tally.get(sub.name)?.count ?? (await readCount(ctx, sub.name));
  try {
    return await operation();
  } finally {
    const after = before === undefined ? undefined : await readCount(ctx, sub.name).catch(() => undefined);
    if (before !== undefined && after !== undefined) {
      // Another call may have reported part of the growth meanwhile: count from the higher mark.
      const seen = Math.max(before, tally.get(sub.name)?.count ?? before);
      if (after > seen) ctx.metrics.deadLettered(sub.topic, sub.name, after - seen);
      tally.set(sub.name, { count: Math.max(seen, after), topic: sub.topic });
    }
  }
}

/**
 * Forgets the tally of subscriptions that changed (deleted, made again, updated) or whose topic
 * was deleted: a subscription made again under the same name starts its store count at 0, and
 * the next call reads a fresh baseline before it runs.
 */
export function forgetDeadLetterTally(tally: DeadLetterTally, change: SubscriptionChange): void {
  if (change.kind === "subscription") tally.delete(change.name);
  else if (change.kind === "topic-deleted") {
    for (const [name, entry] of tally) if (entry.topic === change.topic) tally.delete(name);
  }
}
