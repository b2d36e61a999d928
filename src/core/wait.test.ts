import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { settled } from "../../test/helpers/settled.js";
import { createLocalNotifier } from "../notify/index.js";
import { createFakeClock } from "../util/index.js";
import { waitForAny } from "./wait.js";

/** Nothing of a finished wait is left: no notifier waiter, no timer, no abort listener. */
function assertNothingLeft(
  notifier: ReturnType<typeof createLocalNotifier>,
  clock: ReturnType<typeof createFakeClock>,
  signal: AbortSignal,
): void {
  for (const channel of ["a", "b"]) notifier.forget(channel);
  assert.equal(notifier.channels(), 0, "notifier waiters left");
  assert.equal(clock.pendingTimers(), 0, "timers left");
  assert.equal(getEventListeners(signal, "abort").length, 0, "abort listeners left");
}

describe("waitForAny", () => {
  it("waitForAny - a notify on any channel ends the wait and removes everything it registered", async () => {
    for (const woken of ["a", "b"]) {
      const notifier = createLocalNotifier();
      const clock = createFakeClock();
      const ac = new AbortController();
      const channels: [string, number][] = [
        ["a", notifier.version("a")],
        ["b", notifier.version("b")],
      ];
      const wait = waitForAny(notifier, clock, channels, 1000, ac.signal);
      assert.equal(await settled(wait), false);
      notifier.notify(woken);
      assert.equal(await settled(wait), true);
      await wait;
      assertNothingLeft(notifier, clock, ac.signal);
    }
  });

  it("waitForAny - a channel that changed after its version was read ends the wait at once", async () => {
    const notifier = createLocalNotifier();
    const clock = createFakeClock();
    const ac = new AbortController();
    const seenA = notifier.version("a");
    const seenB = notifier.version("b");
    notifier.notify("b");
    await waitForAny(
      notifier,
      clock,
      [
        ["a", seenA],
        ["b", seenB],
      ],
      Number.POSITIVE_INFINITY,
      ac.signal,
    );
    assertNothingLeft(notifier, clock, ac.signal);
  });

  it("waitForAny - the delay ends the wait; an infinite delay sets no timer", async () => {
    const notifier = createLocalNotifier();
    const clock = createFakeClock();
    const ac = new AbortController();
    const wait = waitForAny(notifier, clock, [["a", notifier.version("a")]], 50, ac.signal);
    clock.advance(49);
    assert.equal(await settled(wait), false);
    clock.advance(1);
    assert.equal(await settled(wait), true);
    assertNothingLeft(notifier, clock, ac.signal);

    const endless = waitForAny(notifier, clock, [["a", notifier.version("a")]], Number.POSITIVE_INFINITY, ac.signal);
    assert.equal(clock.pendingTimers(), 0);
    notifier.notify("a");
    await endless;
  });

  it("waitForAny - an abort rejects with the signal's reason and removes everything", async () => {
    const notifier = createLocalNotifier();
    const clock = createFakeClock();
    const ac = new AbortController();
    const wait = waitForAny(notifier, clock, [["a", notifier.version("a")]], 1000, ac.signal);
    ac.abort(new Error("stream closed"));
    await assert.rejects(wait, /stream closed/);
    assertNothingLeft(notifier, clock, ac.signal);
    // Already aborted: rejects without registering anything.
    await assert.rejects(waitForAny(notifier, clock, [["a", 0]], 10, ac.signal), /stream closed/);
    assertNothingLeft(notifier, clock, ac.signal);
  });

  it("waitForAny - 10,000 waits ended every way leave nothing behind", async () => {
    const notifier = createLocalNotifier();
    const clock = createFakeClock();
    const ac = new AbortController();
    for (let i = 0; i < 10_000; i++) {
      const own = new AbortController();
      const signal = i % 3 === 2 ? own.signal : ac.signal;
      const wait = waitForAny(
        notifier,
        clock,
        [
          ["a", notifier.version("a")],
          ["b", notifier.version("b")],
        ],
        5,
        signal,
      );
      if (i % 3 === 0) notifier.notify(i % 2 === 0 ? "a" : "b");
      else if (i % 3 === 1) clock.advance(5);
      else own.abort(new Error("gone"));
      await wait.catch(() => {});
    }
    assertNothingLeft(notifier, clock, ac.signal);
  });
});
