/**
 * What a Subscribe stream needs to lease one response in steps (src/core/subscribe.ts): each
 * lease reports the bytes it took as its `maxBytes` counts them (LeaseReport.bytes, store.ts), so
 * the next step gets what is left of the response's bound, and `maxBytesStrict` keeps even a
 * step's first message within that rest.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { DELIVERY_OVERHEAD_BYTES } from "../../src/store/engine/message-codec.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";
import type { LeaseReport } from "../../src/store/store.js";
import { createQueue, rec, T0 } from "./conformance/helpers.js";

const data = Buffer.alloc(1000, 1);

it("lease steps - a lease reports the bytes it took; with maxBytesStrict not even a first message exceeds the bound", async () => {
  const store = new KvStore(new MemoryKv());
  try {
    await createQueue(store, "q");
    await store.append("q", [rec("a", { data }), rec("b", { data }), rec("c", { data })], T0);
    const report: LeaseReport = { drained: false };
    const lease = (maxBytes: number, maxBytesStrict: boolean) =>
      store.lease("q", { max: 10, leaseMs: 1000, nowMs: T0, autoAck: false, maxBytes, maxBytesStrict, report });

    const first = await lease(1500, false);
    assert.deepEqual(
      first.map((r) => r.message.id),
      ["a"],
    );
    const one = report.bytes ?? 0;
    assert.ok(one > data.length + "q".length + DELIVERY_OVERHEAD_BYTES, `one message counts ${one} bytes`);
    assert.ok(one < data.length + 200, `one message counts ${one} bytes`);

    // The rest of a bound that one message does not fit: strict takes nothing, and is not drained.
    assert.deepEqual(await lease(one - 1, true), []);
    assert.deepEqual([report.bytes, report.drained], [0, false]);
    // Not strict, one message larger than the bound still goes alone (a response must carry something).
    assert.equal((await lease(one - 1, false)).length, 1);
    assert.equal(report.bytes, one);
    // Strict with room for exactly one: one.
    assert.equal((await lease(one, true)).length, 1);
    assert.deepEqual([report.bytes, report.drained], [one, true]);
  } finally {
    await store.close();
  }
});
