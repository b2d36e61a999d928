import { BrokerError } from "../errors/index.js";
import type { SubscriptionInfo } from "../model/index.js";
import type { TimerHandle } from "../util/index.js";
import type { CoreContext } from "./context.js";
import { countingDeadLetters } from "./dead-letter-count.js";

/** Sweeps of one subscription within this many ms share one timer. */
const BUCKET_MS = 100;

/** Pending sweeps of a broker ("<subscription>\0<bucket ms>" → timer), cleared at shutdown. */
export function createExpirySweeps(ctx: Pick<CoreContext, "clock" | "shutdown">): Map<string, TimerHandle> {
  const timers = new Map<string, TimerHandle>();
  ctx.shutdown.signal.addEventListener("abort", () => {
    for (const h of timers.values()) ctx.clock.clearTimer(h);
    timers.clear();
  });
  return timers;
}

/**
 * Applies the subscription's due times (store.applyDue) just after `atMs`, then wakes its
 * readers and those of its dead-letter topic: a lease on its last attempt that ends there
 * reaches the dead-letter topic even when no consumer calls Pull or Subscribe. Sweeps within
 * {@link BUCKET_MS} share one timer, so the timers are bounded per subscription by the longest
 * ack deadline over the bucket. After a restart the next Pull or stream applies due times.
 */
export function scheduleExpirySweep(ctx: CoreContext, sub: SubscriptionInfo, atMs: number): void {
  if (ctx.shutdown.signal.aborted) return;
  // A little past the deadline (a timer may fire a hair early against the wall clock), rounded up.
  const bucket = Math.ceil((atMs + 2) / BUCKET_MS) * BUCKET_MS;
  const key = `${sub.name}\u0000${bucket}`;
  const timers = ctx.expirySweeps;
  if (timers.has(key)) return;
  const run = () => {
    timers.delete(key);
    if (ctx.shutdown.signal.aborted) return;
    countingDeadLetters(ctx, sub, () => ctx.store.applyDue(sub.name, ctx.clock.now())).then(
      () => {
        ctx.notifier.notify(sub.topic);
        if (sub.deadLetterTopic !== "") ctx.notifier.notify(sub.deadLetterTopic);
      },
      (e: unknown) => {
        // Deleted meanwhile, or shutting down: the next lease applies due times anyway.
        if (e instanceof BrokerError && (e.reason === "SUBSCRIPTION_NOT_FOUND" || e.reason === "SHUTTING_DOWN")) return;
        ctx.logger.warn("could not apply expired leases", { subscription: sub.name, cause: e });
      },
    );
  };
  timers.set(key, ctx.clock.setTimer(run, Math.max(0, bucket - ctx.clock.now())));
}
