/**
 * Wakes waiters when a channel (a topic) changes. It carries no payload: a woken waiter reads
 * the store. Versions make the check-then-wait race free: read `version`, look in the store,
 * then `waitFor(channel, seenVersion)` returns at once if anything changed in between.
 */
export interface Notifier {
  /** A number that changes every time the channel is notified. */
  version(channel: string): number;
  notify(channel: string): void;
  /**
   * Resolves when the channel's version is no longer `seen`; rejects with the signal's reason
   * when `signal` aborts.
   */
  waitFor(channel: string, seen: number, signal: AbortSignal): Promise<void>;
  /** Drops a channel nobody waits on any more (its version restarts at 0). */
  forget(channel: string): void;
}

interface Waiter {
  resolve(): void;
}

/** An in-process {@link Notifier} with per-channel waiter sets (no EventEmitter, no listener cap). */
export function createLocalNotifier(): Notifier {
  const versions = new Map<string, number>();
  const waiters = new Map<string, Set<Waiter>>();
  return {
    version: (channel) => versions.get(channel) ?? 0,
    notify(channel) {
      versions.set(channel, (versions.get(channel) ?? 0) + 1);
      const set = waiters.get(channel);
      if (!set) return;
      waiters.delete(channel);
      for (const w of set) w.resolve();
    },
    forget(channel) {
      versions.delete(channel);
    },
    waitFor(channel, seen, signal) {
      if ((versions.get(channel) ?? 0) !== seen) return Promise.resolve();
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        let set = waiters.get(channel);
        if (!set) {
          set = new Set();
          waiters.set(channel, set);
        }
        const onAbort = () => {
          waiters.get(channel)?.delete(waiter);
          reject(signal.reason);
        };
        const waiter: Waiter = {
          resolve() {
            signal.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        set.add(waiter);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
