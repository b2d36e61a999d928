/**
 * The retention sweep: a core timer on the injected clock that asks the store to drop retained
 * messages past `retain_acked_ms` and messages past `max_age_ms` (and, under drop_oldest, over
 * a limit lowered since the last append), and to do its background work (the steps left by
 * purges, deletes and subscriptions created at an earlier position, and the end of dedup
 * windows), a bounded amount of work per tick; while work is left, each step is followed by a
 * pause as long as the step took. It starts only once there is such work (at boot
 * if the store has any, else when a topic gets retention or limits, a message an id, or an
 * operation leaves steps behind), so brokers without any run no timer at all.
 */
import { BrokerError } from "../errors/index.js";
import type { TopicSettings } from "../model/index.js";
import type { TimerHandle } from "../util/index.js";
import type { CoreContext } from "./context.js";

/** Time between sweeps when the last one finished its work. */
export const RETENTION_SWEEP_INTERVAL_MS = 1000;
/** Most entries one sweep looks at (one store transaction). */
export const RETENTION_SWEEP_WORK = 1000;

/** The sweeper of one broker. */
export interface RetentionSweeper {
  /** Starts the timer if it is not running yet. */
  ensure(): void;
  /** Starts the timer when the topic's settings need the sweep. */
  noteTopic(t: TopicSettings): void;
  /** Runs one sweep now; resolves true when more work is left. */
  sweepOnce(): Promise<boolean>;
  stop(): void;
}

function needsSweep(t: TopicSettings): boolean {
  return (
    t.retainAckedMs > 0 || t.maxAgeMs > 0 || (t.overflow === "drop_oldest" && (t.maxMessages > 0 || t.maxBytes > 0))
  );
}

export function createRetentionSweeper(ctx: CoreContext): RetentionSweeper {
  let timer: TimerHandle | undefined;
  let running = false;
  let stopped = false;
  const sweepOnce = async (): Promise<boolean> => {
    try {
      const result = await ctx.store.sweepRetention(ctx.clock.now(), RETENTION_SWEEP_WORK);
      // A dropped head of an ordering key lets the key's next message go: wake its consumers.
      for (const topic of result.changedTopics) ctx.notifier.notify(topic);
      return result.more;
    } catch (e) {
      if (!(e instanceof BrokerError && e.reason === "SHUTTING_DOWN")) {
        ctx.logger.warn("retention sweep failed; it runs again later", { cause: e });
      }
      return false;
    }
  };
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = ctx.clock.setTimer(() => {
      timer = undefined;
      const startedMs = ctx.clock.now();
      // With work left, the next step waits as long as this one took (wall time, its sync
      // included): background work gets at most about half of the time, and live calls are not
      // queued behind steps back to back.
      void sweepOnce().then((more) =>
        schedule(
          more ? Math.min(ctx.clock.now() - startedMs, RETENTION_SWEEP_INTERVAL_MS) : RETENTION_SWEEP_INTERVAL_MS,
        ),
      );
    }, delayMs);
  };
  const ensure = () => {
    if (running || stopped) return;
    running = true;
    schedule(RETENTION_SWEEP_INTERVAL_MS);
  };
  // Topics from before a restart: start at once if the store has retention or background work.
  Promise.all([ctx.store.hasRetentionWork(), ctx.store.hasBackgroundWork()]).then(
    ([retention, background]) => (retention || background) && ensure(),
    (e: unknown) => ctx.logger.warn("could not check for retention work", { cause: e }),
  );
  return {
    ensure,
    noteTopic: (t) => needsSweep(t) && ensure(),
    sweepOnce,
    stop() {
      stopped = true;
      if (timer !== undefined) ctx.clock.clearTimer(timer);
      timer = undefined;
    },
  };
}
