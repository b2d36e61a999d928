import type { SubscriptionInfo } from "../model/index.js";
import type { CoreContext } from "./context.js";

/**
 * Ephemeral subscriptions: a subscription with `expireAfterIdleMs` deletes itself once nothing
 * used it for that long. Use is a Pull, Subscribe stream, Ack, Nack, ModifyAckDeadline or Peek on
 * it; an open stream or waiting pull keeps it alive however long it idles. Activity is kept in
 * memory: after a restart, the clock of each subscription starts again at the broker's start
 * (or its creation, if later), so a restart never deletes a subscription early.
 */
export interface IdleTracker {
  /** Last use per subscription name (epoch ms). */
  readonly lastUsedMs: Map<string, number>;
  /**
   * Names of ephemeral subscriptions. A sweep reads each one's current record, so a name that
   * is stale (deleted, or no longer ephemeral) is simply dropped there.
   */
  readonly tracked: Set<string>;
  readonly startedMs: number;
  /** Arms the sweep timer if there is anything to sweep and it is not armed. */
  arm: () => void;
  armed: boolean;
}

/** A new tracker; the broker creates one. */
export function createIdleTracker(nowMs: number): IdleTracker {
  return { lastUsedMs: new Map(), tracked: new Set(), startedMs: nowMs, arm: () => {}, armed: false };
}

/** Records a use of the subscription now. */
export function markUsed(ctx: CoreContext, name: string): void {
  if (ctx.idle.tracked.has(name)) ctx.idle.lastUsedMs.set(name, ctx.clock.now());
}

/** Keeps the tracked set in step with a created or updated subscription. */
export function trackSubscription(ctx: CoreContext, sub: SubscriptionInfo): void {
  const { tracked } = ctx.idle;
  if (sub.expireAfterIdleMs > 0) {
    // Newly ephemeral: its idle clock starts now.
    if (!tracked.has(sub.name)) ctx.idle.lastUsedMs.set(sub.name, ctx.clock.now());
    tracked.add(sub.name);
    ctx.idle.arm();
  } else {
    untrackSubscription(ctx, sub.name);
  }
}

/** Forgets a deleted subscription. */
export function untrackSubscription(ctx: CoreContext, name: string): void {
  ctx.idle.tracked.delete(name);
  ctx.idle.lastUsedMs.delete(name);
}

/** Page size of the first sweep's listing. */
const LIST_PAGE = 1000;

/** Adds the ephemeral subscriptions the store already has (those from before a restart). */
async function trackStored(ctx: CoreContext): Promise<void> {
  for (let after = ""; ; ) {
    const page = await ctx.store.listSubscriptions("", after, LIST_PAGE);
    for (const s of page) if (s.expireAfterIdleMs > 0) ctx.idle.tracked.add(s.name);
    if (page.length < LIST_PAGE) return;
    after = (page[page.length - 1] as { name: string }).name;
  }
}

/**
 * One sweep: deletes every ephemeral subscription idle for its limit. `remove` is the broker's
 * own delete (ends streams, wakes waiters). Returns the names deleted.
 */
export async function sweepIdle(ctx: CoreContext, remove: (name: string) => Promise<void>): Promise<string[]> {
  const now = ctx.clock.now();
  const deleted: string[] = [];
  for (const name of [...ctx.idle.tracked]) {
    if (ctx.shutdown.signal.aborted) break;
    if ((ctx.consumers.get(name) ?? 0) > 0) {
      ctx.idle.lastUsedMs.set(name, now);
      continue;
    }
    const sub = await ctx.store.getSubscription(name);
    if (!sub || sub.expireAfterIdleMs <= 0) {
      untrackSubscription(ctx, name);
      continue;
    }
    const since = ctx.idle.lastUsedMs.get(name) ?? Math.max(ctx.idle.startedMs, sub.createTimeMs);
    if (now - since < sub.expireAfterIdleMs) continue;
    try {
      await remove(name);
      deleted.push(name);
      ctx.logger.info("deleted idle ephemeral subscription", { subscription: name, idleMs: now - since });
    } catch (e) {
      ctx.logger.warn("could not delete idle ephemeral subscription", { subscription: name, error: String(e) });
    }
    untrackSubscription(ctx, name);
  }
  return deleted;
}

/**
 * Starts the sweeper: lists the ephemeral subscriptions once, then sweeps every `intervalMs` on
 * the broker's clock while there are any (no timer runs while there are none), until shutdown.
 */
export function startIdleSweeper(ctx: CoreContext, intervalMs: number, remove: (name: string) => Promise<void>): void {
  ctx.idle.arm = () => {
    if (ctx.idle.armed || ctx.shutdown.signal.aborted || ctx.idle.tracked.size === 0) return;
    ctx.idle.armed = true;
    const timer = ctx.clock.setTimer(() => {
      ctx.shutdown.signal.removeEventListener("abort", stop);
      sweepIdle(ctx, remove)
        .catch((e) => ctx.logger.warn("idle sweep failed", { error: String(e) }))
        .finally(() => {
          ctx.idle.armed = false;
          ctx.idle.arm();
        });
    }, intervalMs);
    const stop = () => ctx.clock.clearTimer(timer);
    ctx.shutdown.signal.addEventListener("abort", stop, { once: true });
  };
  trackStored(ctx)
    .then(() => ctx.idle.arm())
    .catch((e) => ctx.logger.warn("could not list ephemeral subscriptions", { error: String(e) }));
}
