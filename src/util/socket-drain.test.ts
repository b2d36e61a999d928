import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createFakeClock } from "./clock.js";
import { waitForDrain } from "./socket-drain.js";

test("waitForDrain resolves true on drain and removes its listeners and timer", async () => {
  const clock = createFakeClock();
  const stream = new PassThrough();
  const wait = waitForDrain(stream, 1000, clock);
  stream.emit("drain");
  assert.equal(await wait, true);
  assert.equal(stream.listenerCount("drain"), 0);
  assert.equal(stream.listenerCount("close"), 0);
  assert.equal(clock.pendingTimers(), 0);
});

test("waitForDrain resolves false after the timeout", async () => {
  const clock = createFakeClock();
  const stream = new PassThrough();
  const wait = waitForDrain(stream, 1000, clock);
  clock.advance(999);
  let settled = false;
  void wait.then(() => {
    settled = true;
  });
  await Promise.resolve();
  assert.equal(settled, false);
  clock.advance(1);
  assert.equal(await wait, false);
  assert.equal(stream.listenerCount("drain"), 0);
});

test("waitForDrain resolves false when the stream closes first", async () => {
  const clock = createFakeClock();
  const stream = new PassThrough();
  const wait = waitForDrain(stream, 1000, clock);
  stream.destroy();
  assert.equal(await wait, false);
  assert.equal(clock.pendingTimers(), 0);
});

test("waitForDrain resolves false at once for a stream already destroyed", async () => {
  const clock = createFakeClock();
  const stream = new PassThrough();
  stream.destroy();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(await waitForDrain(stream, 1000, clock), false);
  assert.equal(clock.pendingTimers(), 0);
});
