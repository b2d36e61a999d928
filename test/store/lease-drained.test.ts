/**
 * LeaseReport.drained (store.ts): a lease says it took everything available only when it did,
 * so a Subscribe stream may skip the lease right after a batch (src/core/subscribe.ts). A false
 * "drained" would stall a stream; a false "not drained" only costs one empty lease.
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { KvStore } from "../../src/store/engine/kv-store.js";
import { MemoryKv } from "../../src/store/kv/memory-kv.js";
import type { LeaseReport, Store } from "../../src/store/store.js";
import { createQueue, rec, recs, T0 } from "./conformance/helpers.js";

async function leaseReporting(store: Store, sub: string, max: number, nowMs: number, maxBytes?: number) {
  const report: LeaseReport = { drained: false };
  const got = await store.lease(sub, { max, leaseMs: 1000, nowMs, autoAck: false, maxBytes, report });
  return { n: got.length, drained: report.drained };
}

it("lease drained - true only when the lease took all that was available", async () => {
  const store = new KvStore(new MemoryKv());
  try {
    await createQueue(store, "q");
    assert.deepEqual(await leaseReporting(store, "q", 10, T0), { n: 0, drained: true }, "empty");
    await store.append("q", recs(5), T0);
    assert.deepEqual(await leaseReporting(store, "q", 3, T0), { n: 3, drained: false }, "stopped by its count");
    assert.deepEqual(await leaseReporting(store, "q", 3, T0), { n: 2, drained: true }, "took the rest");
    assert.deepEqual(await leaseReporting(store, "q", 3, T0), { n: 0, drained: true });

    // Stopped by its bytes: more is there.
    const data = Buffer.alloc(1000, 1);
    await store.append("q", [rec("b1", { data }), rec("b2", { data }), rec("b3", { data })], T0);
    assert.deepEqual(await leaseReporting(store, "q", 10, T0, 2500), { n: 2, drained: false }, "stopped by bytes");
    assert.deepEqual(await leaseReporting(store, "q", 10, T0, 2500), { n: 1, drained: true });

    // Other priorities are lanes of their own: all of them are read before it says drained.
    await store.append("q", [rec("p0"), rec("p5", { priority: 5 }), rec("p9", { priority: 9 })], T0);
    assert.deepEqual(await leaseReporting(store, "q", 2, T0), { n: 2, drained: false });
    assert.deepEqual(await leaseReporting(store, "q", 2, T0), { n: 1, drained: true });

    // Leases that ended are available again: a lease that leaves one behind is not drained.
    const later = T0 + 5000; // every lease above (1 s) has ended
    const again = await leaseReporting(store, "q", 4, later);
    assert.deepEqual(again, { n: 4, drained: false });
  } finally {
    await store.close();
  }
});

it("lease drained - an ordered subscription never says drained (keys wait their turn)", async () => {
  const store = new KvStore(new MemoryKv());
  try {
    await createQueue(store, "o", {}, { ordered: true });
    await store.append("o", [rec("a", { orderingKey: "k" }), rec("b", { orderingKey: "k" })], T0);
    assert.deepEqual(await leaseReporting(store, "o", 10, T0), { n: 1, drained: false });
  } finally {
    await store.close();
  }
});
