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
   * Resolves when the channel's version is no longer `seen` (or may no longer be: a spurious
   * wake-up is allowed, a missed one never); rejects with the signal's reason when `signal` aborts.
   */
  waitFor(channel: string, seen: number, signal: AbortSignal): Promise<void>;
  /**
   * Calls `wake` once, from a later `notify`, when the channel's version is no longer `seen`
   * (the same promise as {@link waitFor}, without a promise or an AbortSignal: for a hot loop
   * that waits on several channels at once). Returns how to stop watching (then `wake` is never
   * called and nothing is left behind), or `undefined` when the version already differs: then
   * nothing was registered and `wake` will not be called.
   */
  watch(channel: string, seen: number, wake: () => void): (() => void) | undefined;
  /** Drops the state of a channel nobody will wait on any more (a Subscribe stream's own channel). */
  forget(channel: string): void;
  /** Channels with state held (versions or waiters); for tests of the memory bound. */
  channels(): number;
}

interface Waiter {
  resolve(): void;
}

/** Options of {@link createLocalNotifier}. */
export interface LocalNotifierOptions {
  /**
   * Channels with no waiter kept before a sweep drops them (at least 1024 above the number left
   * by the previous sweep, so sweeps are amortised O(1) per notify). Default 4096.
   */
  maxIdleChannels?: number;
}

/**
 * An in-process {@link Notifier} with per-channel waiter sets (no EventEmitter, no listener cap).
 *
 * Memory stays bounded by the channels in use: a waiter set is removed when its last waiter
 * leaves (resolved or aborted), and versions of channels nobody waits on are swept once there
 * are more than `maxIdleChannels` of them. Versions are stamps from one counter for all channels,
 * and a dropped channel reads as the highest stamp dropped so far (`floor`), which only grows: a
 * reader that saw a version before the drop either sees the same number (nothing happened since)
 * or another one (it wakes and looks again), so dropping never causes a missed wake-up.
 */
export function createLocalNotifier(options: LocalNotifierOptions = {}): Notifier {
  const maxIdle = options.maxIdleChannels ?? 4096;
  const versions = new Map<string, number>();
  const waiters = new Map<string, Set<Waiter>>();
  let stamp = 0;
  let floor = 0;
  let sweepAbove = maxIdle;
  const versionOf = (channel: string) => versions.get(channel) ?? floor;

  function drop(channel: string): void {
    const v = versions.get(channel);
    if (v === undefined) return;
    versions.delete(channel);
    if (v > floor) floor = v;
  }

  function sweep(): void {
    for (const channel of [...versions.keys()]) if (!waiters.has(channel)) drop(channel);
    sweepAbove = Math.max(maxIdle, versions.size + 1024);
  }

  return {
    version: versionOf,
    notify(channel) {
      versions.set(channel, ++stamp);
      const set = waiters.get(channel);
      if (set) {
        waiters.delete(channel);
        for (const w of set) w.resolve();
      }
      if (versions.size > sweepAbove) sweep();
    },
    forget(channel) {
      if (!waiters.has(channel)) drop(channel);
    },
    channels: () => new Set([...versions.keys(), ...waiters.keys()]).size,
    waitFor(channel, seen, signal) {
      if (versionOf(channel) !== seen) return Promise.resolve();
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const unwatch = add(channel, () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        });
        const onAbort = () => {
          unwatch();
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    watch(channel, seen, wake) {
      if (versionOf(channel) !== seen) return undefined;
      return add(channel, wake);
    },
  };

  /** Registers a waiter on the channel; returns how to remove it (a no-op once it was woken). */
  function add(channel: string, resolve: () => void): () => void {
    let set = waiters.get(channel);
    if (!set) {
      set = new Set();
      waiters.set(channel, set);
    }
    const own = set;
    const waiter: Waiter = { resolve };
    own.add(waiter);
    return () => {
      if (!own.delete(waiter)) return;
      if (own.size === 0 && waiters.get(channel) === own) waiters.delete(channel);
    };
  }
}
