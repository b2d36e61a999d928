/** Abort signals shared by many calls (a client-wide signal, as the bench passes). */

/**
 * Calls waiting on each signal: one 'abort' listener per signal however many calls share it
 * (an EventTarget listener added and removed per call cost ~3 % of the client's CPU).
 */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/** Runs `onAbort` when `signal` aborts, until the returned function is called. */
export function watchSignal(signal: AbortSignal, onAbort: () => void): () => void {
  let calls = waiting.get(signal);
  if (calls === undefined) {
    const set = new Set<() => void>();
    calls = set;
    waiting.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        for (const call of [...set]) call();
        set.clear();
      },
      { once: true },
    );
  }
  calls.add(onAbort);
  const set = calls;
  return () => set.delete(onAbort);
}
