/**
 * The dedup index is swept in the background in bounded steps (issue 16 item 9): once their
 * windows have passed, the id entries go without any further publish, a bounded number per
 * sweep step.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createMemoryKvData, createMemoryStore } from "../store/index.js";
import { createFakeClock } from "../util/index.js";
import { createBroker } from "./index.js";

/** Keys of the dedup expiry table (its tag is 0x07, src/store/engine/keys.ts). */
function dedupEntries(data: ReturnType<typeof createMemoryKvData>): number {
  return data.keys.filter((k) => k.charCodeAt(0) === 0x07).length;
}

const settle = async () => {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
};

it("dedup - window entries are swept in the background, with no publish after them, in bounded steps", async (t) => {
  // Built by hand, not with the test broker: the test reads the store's KV data itself.
  const data = createMemoryKvData();
  const store = createMemoryStore(data);
  const clock = createFakeClock();
  const broker = createBroker({ store, clock });
  t.after(async () => {
    await broker.close();
    await store.close();
  });
  await broker.createTopic({ name: "t", queue: true, dedupWindowMs: 1000 });
  for (let b = 0; b < 3; b++) {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ id: `id-${b}-${i}`, data: Buffer.of(1) }));
    await broker.publish("t", messages);
  }
  assert.equal(dedupEntries(data), 3000);
  // One step of the sweep (every second) removes at most its bound: 1000 entries.
  clock.advance(1001);
  await settle();
  assert.ok(dedupEntries(data) >= 2000, `one step took ${3000 - dedupEntries(data)} entries`);
  for (let i = 0; i < 10 && dedupEntries(data) > 0; i++) {
    clock.advance(1000);
    await settle();
  }
  assert.equal(dedupEntries(data), 0, "every entry went without another publish");
  // Past the window the ids are free again (window scope: acked or not).
  const again = await broker.publish("t", [
    { id: "id-0-0", data: Buffer.of(2) },
    { id: "id-2-999", data: Buffer.of(2) },
  ]);
  assert.deepEqual(
    again.map((r) => r.duplicate),
    [false, false],
  );
});
