/**
 * A counting semaphore with a bounded wait and a bounded queue of waiters, for the async publishes
 * the GopherMQ bridge has accepted but not stored yet (docs/gophermq.md "Bounds"). Resolves a
 * release function, or undefined when no slot came within `waitMs`, `signal` aborted, or
 * `maxWaiters` callers were waiting already.
 */
export function createAsyncSlots(
  size: number,
  waitMs: number,
  maxWaiters: number,
): (signal: AbortSignal) => Promise<(() => void) | undefined> {
  let used = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else used--;
  };
  return async (signal) => {
    if (used < size) {
      used++;
      return release;
    }
    if (waiters.length >= maxWaiters || signal.aborted) return undefined;
    return new Promise((resolve) => {
      const granted = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", giveUp);
        resolve(release);
      };
      const giveUp = () => {
        clearTimeout(timer);
        const i = waiters.indexOf(granted);
        if (i >= 0) waiters.splice(i, 1);
        signal.removeEventListener("abort", giveUp);
        resolve(undefined);
      };
      const timer = setTimeout(giveUp, waitMs);
      waiters.push(granted);
      signal.addEventListener("abort", giveUp, { once: true });
    });
  };
}
