import type { PushStats, SubscriptionChange } from "../model/index.js";
import type { Notifier } from "../notify/index.js";
import type { Store } from "../store/index.js";
import type { Clock, Logger, TimerHandle } from "../util/index.js";
import type { DeadLetterTally } from "./dead-letter-count.js";
import type { IdleTracker } from "./ephemeral.js";
import type { BrokerLimits } from "./limits.js";
import type { BrokerMetricsSink } from "./metrics-sink.js";
import type { Outstanding } from "./outstanding.js";

/** What every core operation works with. Internal to the core. */
export interface CoreContext {
  store: Store;
  clock: Clock;
  limits: BrokerLimits;
  logger: Logger;
  /** Where operations are counted (no-op by default). */
  metrics: BrokerMetricsSink;
  notifier: Notifier;
  /** Pull/Subscribe callers per subscription, for stats. */
  consumers: Map<string, number>;
  /** Open Subscribe streams per subscription, so settles can free their windows. */
  streams: Map<string, Set<Outstanding>>;
  /** Timers that apply expired last-attempt leases (scheduleExpirySweep in expiry-sweep.ts). */
  expirySweeps: Map<string, TimerHandle>;
  /** The store's dead-letter count last seen per subscription, to report growth (dead-letter-count.ts). */
  deadLetterTally: DeadLetterTally;
  /** When a blocked dead-letter topic was last logged, per subscription (rate limit). */
  deadLetterWarnedMs: Map<string, number>;
  /** Last use of ephemeral subscriptions, for the idle sweep. */
  idle: IdleTracker;
  /** Aborted with SHUTTING_DOWN when the broker closes. */
  shutdown: AbortController;
  /** Called after every subscription change ({@link SubscriptionChange}). */
  subscriptionListeners: Set<(change: SubscriptionChange) => void>;
  /** The push agent's per-subscription stats, when one is registered. */
  pushStats?: (subscription: string) => PushStats | undefined;
}

/** Tells every subscription listener about a change; a throwing listener is logged, not fatal. */
export function emitSubscriptionChange(ctx: CoreContext, change: SubscriptionChange): void {
  for (const listener of ctx.subscriptionListeners) {
    try {
      listener(change);
    } catch (e) {
      ctx.logger.error("subscription listener failed", { change, error: e });
    }
  }
}
