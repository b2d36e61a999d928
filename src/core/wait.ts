import type { Notifier } from "../notify/index.js";
import type { Clock, TimerHandle } from "../util/index.js";

/**
 * Waits until the channel changes after `seenVersion`, `delayMs` passes, or `signal` aborts
 * (then rejects with its reason). No polling: one notifier waiter and one timer.
 */
export async function waitForChange(
  notifier: Notifier,
  clock: Clock,
  channel: string,
  seenVersion: number,
  delayMs: number,
  signal: AbortSignal,
): Promise<void> {
  return waitForAny(notifier, clock, [[channel, seenVersion]], delayMs, signal);
}

/**
 * Waits until any of the channels changes after its seen version, `delayMs` passes (infinite:
 * no timer), or `signal` aborts (then rejects with its reason). A Subscribe stream waits here
 * after every batch it sends, so the wait registers plain callbacks (one notifier watch per
 * channel, one timer, one abort listener) and removes them all when the first fires: no
 * AbortController or promise of its own per channel (BENCHMARKS.md, "W3: where the broker's CPU
 * goes at 5,000 msg/s").
 */
export function waitForAny(
  notifier: Notifier,
  clock: Clock,
  channels: ReadonlyArray<readonly [channel: string, seenVersion: number]>,
  delayMs: number,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<void>((resolve, reject) => {
    const unwatch: Array<() => void> = [];
    let timer: TimerHandle | undefined;
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      for (const stop of unwatch) stop();
      if (timer !== undefined) clock.clearTimer(timer);
      signal.removeEventListener("abort", onAbort);
      if (aborted) reject(signal.reason);
      else resolve();
    };
    const wake = () => finish(false);
    const onAbort = () => finish(true);
    for (const [channel, seen] of channels) {
      const stop = notifier.watch(channel, seen, wake);
      if (stop === undefined) {
        // Already changed: nothing more to register.
        finish(false);
        return;
      }
      unwatch.push(stop);
    }
    if (Number.isFinite(delayMs)) timer = clock.setTimer(wake, Math.max(0, delayMs));
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
