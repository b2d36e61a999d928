/** Sleeping, deadlines and pacing. Every wait here is bounded. */
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves after `ms` milliseconds. */
export function sleepMs(ms: number): Promise<void> {
  return sleep(Math.max(0, ms));
}

/** A point in time a loop must stop by. */
export class Deadline {
  readonly #endMs: number;
  /** A deadline `budgetMs` from now. */
  constructor(readonly budgetMs: number) {
    this.#endMs = performance.now() + budgetMs;
  }
  get expired(): boolean {
    return performance.now() >= this.#endMs;
  }
  get remainingMs(): number {
    return Math.max(0, this.#endMs - performance.now());
  }
}

/**
 * Calls `send(i, scheduledMs)` for i in [0, count) at `ratePerSec`, in ticks of about 1 ms: each tick
 * sends every message whose scheduled time (`performance.now()` clock) has come. Latency measured
 * from `scheduledMs` rather than the actual send time avoids coordinated omission. Stops early at
 * the deadline; resolves with the number sent. `send` must not block (queue, don't await).
 */
export async function paced(
  count: number,
  ratePerSec: number,
  deadline: Deadline,
  send: (i: number, scheduledMs: number) => void,
): Promise<number> {
  const intervalMs = 1000 / ratePerSec;
  const t0 = performance.now();
  let i = 0;
  while (i < count && !deadline.expired) {
    const now = performance.now();
    while (i < count && t0 + i * intervalMs <= now) {
      send(i, t0 + i * intervalMs);
      i++;
    }
    await sleepMs(1);
  }
  return i;
}

/** Resolves `p`, or rejects with `what` timed out after `ms` (the timer never keeps the process alive). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `p` until `deadline`: true if it resolved in time, false if the deadline came first. */
export async function beforeDeadline(p: Promise<unknown>, deadline: Deadline): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), deadline.remainingMs);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
