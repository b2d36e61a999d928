/** Assertions and event-loop helpers shared by the core's unit tests (memory store, fake clock). */
import assert from "node:assert/strict";
import { BrokerError, type Reason } from "../../src/errors/index.js";

/** Expects `promise` to reject with a BrokerError of `reason` whose metadata has these entries. */
export function rejectsWith(
  promise: Promise<unknown>,
  reason: Reason,
  metadata: Record<string, string> = {},
): Promise<void> {
  return assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof BrokerError, String(e));
    assert.equal(e.reason, reason, e.message);
    for (const [k, v] of Object.entries(metadata)) assert.equal(e.metadata[k], v, `metadata.${k}`);
    return true;
  });
}

/** One turn of the event loop. */
export const tick = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Enough turns for a chain of store calls and wake-ups to run out (the fake clock does not move). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}
