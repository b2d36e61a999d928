import type { Clock, TimerHandle } from "../util/index.js";

/**
 * A single-waiter wake-up: {@link sleep} resolves on the next {@link wake} or after a delay on
 * the injected clock. A wake with nobody asleep is remembered, so a wake between a check and
 * the sleep that follows it is never lost.
 */
export class Wakeup {
  private waker: (() => void) | undefined;
  private pending = false;

  constructor(private readonly clock: Clock) {}

  /** Resolves on {@link wake} or after `ms` (infinite: no timer). */
  sleep(ms: number): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = () => {
        if (timer !== undefined) this.clock.clearTimer(timer);
        if (this.waker === done) this.waker = undefined;
        this.pending = false;
        resolve();
      };
      if (Number.isFinite(ms)) timer = this.clock.setTimer(done, Math.max(0, ms));
      this.waker = done;
    });
  }

  wake(): void {
    const w = this.waker;
    if (w) w();
    else this.pending = true;
  }
}

/** Resolves when `promise` settles or `ms` passes on `clock`, whichever is first; never rejects. */
export async function settledWithin(clock: Clock, promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = clock.setTimer(resolve, ms);
  });
  await Promise.race([promise.catch(() => {}), timeout]);
  if (timer !== undefined) clock.clearTimer(timer);
}
