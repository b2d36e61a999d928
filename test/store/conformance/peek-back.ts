/** Conformance: peek from the back of the delivery order (okQ's QLPEEK). */
import assert from "node:assert/strict";
import { it } from "node:test";
import { createQueue, lease, rec, recs, type StoreFactory, seqsOf, setup, T0 } from "./helpers.js";

export function peekBackCases(factory: StoreFactory): void {
  it("peek from back - lists the reverse of the delivery order, priority included, leasing nothing", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", [rec("a"), rec("b", { priority: 9 }), rec("c"), rec("d")], T0);
    assert.deepEqual(seqsOf(await store.peek("q", 10, T0, true)), [4, 3, 1, 2]);
    assert.deepEqual(seqsOf(await store.peek("q", 1, T0, true)), [4]);
    assert.deepEqual(seqsOf(await lease(store, "q", 10, T0)), [2, 1, 3, 4], "peeking leased nothing");
  });

  it("peek from back - skips leased messages and sees expired leases again, and pages past 1000", async (t) => {
    const { store } = await setup(t, factory);
    await createQueue(store, "q");
    await store.append("q", recs(3), T0);
    await lease(store, "q", 1, T0, 1000);
    assert.deepEqual(seqsOf(await store.peek("q", 10, T0 + 1, true)), [3, 2]);
    assert.deepEqual(seqsOf(await store.peek("q", 10, T0 + 1000, true)), [3, 2, 1]);
    await store.append(
      "q",
      recs(1200).map((r, i) => ({ ...r, id: `big-${i}` })),
      T0,
    );
    const all = await store.peek("q", 1203, T0 + 1000, true);
    assert.equal(all.length, 1203);
    assert.equal(all[0]?.message.seq, 1203);
    assert.equal(all[1202]?.message.seq, 1);
  });
}
