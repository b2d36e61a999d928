/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: true } | ReturnType<typeof setTimeout>;

/**
 * Time as the core sees it. Injected so lease expiry, delays and long-poll deadlines are
 * testable without sleeping.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `delayMs`. */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: Date.now and unref'd Node timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    const t = setTimeout(fn, Math.max(0, Math.min(delayMs, 2_147_483_647)));
    t.unref();
    return t;
  },
  clearTimer(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/** A clock for tests: time moves only when `advance` is called, firing due timers in order. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  /** Timers not yet fired. */
  pendingTimers(): number;
}

/** Creates a {@link FakeClock} starting at `startMs` (default 1,700,000,000,000). */
export function createFakeClock(startMs = 1_700_000_000_000): FakeClock {
  let now = startMs;
  let nextId = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(fn, delayMs) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, delayMs), fn });
      return id as unknown as TimerHandle;
    },
    clearTimer(handle) {
      timers.delete(handle as unknown as number);
    },
    advance(ms) {
      const target = now + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | undefined;
        for (const entry of timers) if (entry[1].at <= target && (!due || entry[1].at < due[1].at)) due = entry;
        if (!due) break;
        timers.delete(due[0]);
        now = Math.max(now, due[1].at);
        due[1].fn();
      }
      now = target;
    },
    pendingTimers: () => timers.size,
  };
}
