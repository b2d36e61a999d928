import type { Writable } from "node:stream";
import type { Clock } from "./clock.js";

/**
 * Resolves true once `stream` emits 'drain', false after `timeoutMs` on `clock` or when it closes
 * first. Every listener and the timer are removed when it settles.
 */
export function waitForDrain(stream: Writable, timeoutMs: number, clock: Clock): Promise<boolean> {
  // Closed already: its 'close' is past, and no 'drain' will come.
  if (stream.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clock.clearTimer(timer);
      stream.off("drain", onDrain);
      stream.off("close", onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const timer = clock.setTimer(() => done(false), timeoutMs);
    stream.on("drain", onDrain);
    stream.on("close", onClose);
  });
}
