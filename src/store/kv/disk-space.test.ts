/**
 * The free-space gate on its own (issue 16 item 4 review): reservations of appends in flight,
 * refunds, the page-rounded estimate, a first measurement that fails, and the store cap in the probe.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { BrokerError } from "../../errors/index.js";
import { storedBytesEstimate } from "../guarded-store.js";
import type { AppendRecord } from "../store.js";
import { DiskGuard, type DiskSpace, type SpaceReservation, storeSpaceProbe } from "./disk-space.js";

const MiB = 1024 * 1024;
const KiB = 1024;

function guardOn(disk: DiskSpace, floorBytes: number, extra: Partial<ConstructorParameters<typeof DiskGuard>[0]> = {}) {
  let now = 0;
  const guard = new DiskGuard({
    min: { bytes: floorBytes },
    probe: async () => ({ ...disk }),
    now: () => now,
    recheckMs: 1_000_000,
    ...extra,
  });
  return { guard, advance: (ms: number) => (now += ms) };
}

/** Reserves `bytes`, or undefined when the gate refuses with INSUFFICIENT_STORAGE. */
function tryReserve(guard: DiskGuard, bytes: number): SpaceReservation | undefined {
  try {
    return guard.reserve(bytes);
  } catch (e) {
    assert.ok(e instanceof BrokerError && e.reason === "INSUFFICIENT_STORAGE", String(e));
    return undefined;
  }
}

function record(dataBytes: number): AppendRecord {
  return {
    id: "",
    data: new Uint8Array(dataBytes),
    attributes: {},
    priority: 0,
    orderingKey: "",
    deliverAtMs: 0,
    expireAtMs: 0,
  };
}

describe("disk guard", () => {
  it("reserve - appends in flight together are counted together: past the floor the rest are refused", async () => {
    const { guard } = guardOn({ availableBytes: 101 * MiB, totalBytes: 1000 * MiB }, 100 * MiB);
    await guard.measure();
    const admitted = Array.from({ length: 10 }, () => tryReserve(guard, 512 * KiB)).filter((r) => r !== undefined);
    // 1 MiB above the floor: the third reservation crosses it; nothing after is admitted.
    assert.equal(admitted.length, 3);
    assert.equal(guard.low, true);
    guard.close();
  });

  it("reserve - a failed append gives its bytes back, a stored one keeps them counted", async () => {
    const { guard } = guardOn({ availableBytes: 10 * MiB, totalBytes: 1000 * MiB }, 1 * MiB);
    await guard.measure();
    const failed = guard.reserve(4 * MiB);
    assert.equal(guard.state().freeBytes, 6 * MiB, "in flight: counted");
    failed.refund();
    assert.equal(guard.state().freeBytes, 10 * MiB, "refunded");
    const stored = guard.reserve(4 * MiB);
    stored.commit(3 * MiB); // one duplicate stored nothing
    stored.refund(); // no effect once ended
    assert.equal(guard.state().freeBytes, 7 * MiB);
    guard.close();
  });

  it("measure - a failed first measurement is logged once and retried by itself, then the floor holds", async () => {
    let fail = true;
    const errors: unknown[] = [];
    const guard = new DiskGuard({
      min: { bytes: 10 * MiB },
      probe: async () => {
        if (fail) throw new Error("EIO");
        return { availableBytes: 5 * MiB, totalBytes: 1000 * MiB };
      },
      onProbeError: (e) => errors.push(e),
      recheckMs: 10,
    });
    await guard.measure();
    await guard.measure();
    assert.equal(errors.length, 1, "one log line per run of failures");
    assert.equal(guard.low, false, "no measurement yet: no floor");
    fail = false;
    const end = Date.now() + 5000;
    while (!guard.low && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(guard.low, true, "retried without any publish: the floor is on");
    guard.close();
  });

  it("estimate - a large message is counted in whole pages, a small one with its B-tree page share", () => {
    assert.equal(storedBytesEstimate(record(5000)), 8192);
    assert.equal(storedBytesEstimate(record(4096)), 8192, "a value of exactly one page needs a second for its header");
    assert.equal(storedBytesEstimate(record(64 * KiB)) % 4096, 0);
    assert.ok(storedBytesEstimate(record(64 * KiB)) > 64 * KiB);
    assert.ok(storedBytesEstimate(record(100)) >= 2 * (100 + 256));
  });

  it("probe - with a store cap, free space is the smaller of disk free and the cap's headroom, plus reusable pages", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatefix-probe-"));
    try {
      const space = { usedBytes: 20 * MiB, reusableBytes: 3 * MiB };
      const capped = await storeSpaceProbe(dir, () => space, 32 * MiB)();
      assert.equal(capped.availableBytes, 12 * MiB + 3 * MiB);
      assert.equal(capped.totalBytes, 32 * MiB, "the floor's percentage is of the cap");
      space.usedBytes = 40 * MiB; // above the cap (a store that grew before the cap was set)
      assert.equal((await storeSpaceProbe(dir, () => space, 32 * MiB)()).availableBytes, 3 * MiB);
      const uncapped = await storeSpaceProbe(dir, () => space)();
      assert.ok(uncapped.availableBytes > capped.availableBytes, "no cap: the disk alone");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
