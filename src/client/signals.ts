/** Abort signals shared by many calls (a client-wide signal, as the bench passes). */

/** A call that waits on a signal. */
export interface SignalWatcher {
  /** The signal aborted. */
  abort(): void;
}

/**
 * Calls waiting on each signal: one 'abort' listener per signal however many calls share it
 * (an EventTarget listener added and removed per call cost ~3 % of the client's CPU).
 */
const waiting = new WeakMap<AbortSignal, Set<SignalWatcher>>();

/**
 * Calls `watcher.abort()` when `signal` aborts, unless the watcher was deleted from the returned
 * set before.
 */
export function watchSignal(signal: AbortSignal, watcher: SignalWatcher): Set<SignalWatcher> {
  let calls = waiting.get(signal);
  if (calls === undefined) {
    const set = new Set<SignalWatcher>();
    calls = set;
    waiting.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        for (const call of [...set]) call.abort();
        set.clear();
      },
      { once: true },
    );
  }
  calls.add(watcher);
  return calls;
}
