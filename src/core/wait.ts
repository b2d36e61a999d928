import type { Notifier } from "../notify/index.js";
import type { Clock } from "../util/index.js";

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
 * no timer), or `signal` aborts (then rejects with its reason).
 */
export async function waitForAny(
  notifier: Notifier,
  clock: Clock,
  channels: ReadonlyArray<readonly [channel: string, seenVersion: number]>,
  delayMs: number,
  signal: AbortSignal,
): Promise<void> {
  const local = new AbortController();
  const onAbort = () => local.abort(signal.reason);
  if (signal.aborted) throw signal.reason;
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = Number.isFinite(delayMs)
    ? clock.setTimer(() => local.abort("timeout"), Math.max(0, delayMs))
    : undefined;
  try {
    await Promise.race(channels.map(([channel, seen]) => notifier.waitFor(channel, seen, local.signal)));
  } catch (e) {
    if (local.signal.reason !== "timeout") throw e;
  } finally {
    if (timer !== undefined) clock.clearTimer(timer);
    signal.removeEventListener("abort", onAbort);
    // Drops the waiters still registered on the other channels.
    if (!local.signal.aborted) local.abort("done");
  }
}
