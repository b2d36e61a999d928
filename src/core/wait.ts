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
  const local = new AbortController();
  const onAbort = () => local.abort(signal.reason);
  if (signal.aborted) throw signal.reason;
  signal.addEventListener("abort", onAbort, { once: true });
  const timer = clock.setTimer(() => local.abort("timeout"), Math.max(0, delayMs));
  try {
    await notifier.waitFor(channel, seenVersion, local.signal);
  } catch (e) {
    if (local.signal.reason !== "timeout") throw e;
  } finally {
    clock.clearTimer(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
