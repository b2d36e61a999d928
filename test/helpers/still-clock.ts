import { type Clock, systemClock } from "../../src/util/index.js";

/** The time every still clock reads: two brokers that share it stamp the same publish times and lease ids. */
export const STILL_MS = 1_800_000_000_000;

/**
 * A clock whose time stands still at `nowMs` (read through the function, so a test may move it)
 * while its timers are real: for differential tests that compare two brokers byte for byte.
 */
export function stillClock(nowMs: () => number = () => STILL_MS): Clock {
  return { now: nowMs, setTimer: systemClock.setTimer, clearTimer: systemClock.clearTimer };
}
