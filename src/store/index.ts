import type { Durability } from "./durability.js";
import { KvStore } from "./engine/kv-store.js";
import { DiskGuardedStore } from "./guarded-store.js";
import {
  DEFAULT_MIN_FREE_DISK,
  DiskGuard,
  type DiskSpaceProbe,
  filesystemProbe,
  type MinFreeDisk,
} from "./kv/disk-space.js";
import type { StoreFailure } from "./kv/fail-safe-kv.js";
import type { KvEngine } from "./kv/kv.js";
import { LmdbKv } from "./kv/lmdb-kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "./kv/memory-kv.js";
import type { Store } from "./store.js";

export { DEAD_LETTER_ATTRIBUTES, type DeadLetterReason, isDeadLetterAttribute } from "./dead-letters.js";
export type { Durability } from "./durability.js";
export { DEFAULT_MIN_FREE_DISK, type DiskSpace, type DiskSpaceProbe, type MinFreeDisk } from "./kv/disk-space.js";
export type { StoreFailure } from "./kv/fail-safe-kv.js";
export { KvCommitError, type KvEngine, type KvWriter } from "./kv/kv.js";
export type { MemoryKvData } from "./kv/memory-kv.js";
export type * from "./store.js";

/** What the store reports about itself (health): working, short of disk space, or failed. */
export type StoreCondition =
  | { kind: "ok" }
  | { kind: "low-disk"; freeBytes: number; minFreeBytes: number }
  | { kind: "failed"; failure: StoreFailure };

/** Options of {@link openLmdbStore}. */
export interface LmdbStoreOptions {
  /** Directory of the LMDB environment; created if missing. */
  path: string;
  /** Default `flush`: a write resolves only after it is synced to disk. */
  durability?: Durability;
  /** LMDB map size in bytes (address space, not disk). Default 64 GiB. */
  mapSizeBytes?: number;
  /** Most messages one Seek or snapshot may touch. Default {@link MAX_REPLAY_ENTRIES}. */
  maxReplayEntries?: number;
  /** Observes each write's commit latency in seconds (metrics); must not throw. Default: none. */
  commitObserver?: (seconds: number) => void;
  /** Publishes are refused below this much free disk space. Default {@link DEFAULT_MIN_FREE_DISK}. */
  minFreeDisk?: MinFreeDisk;
  /** Measures free space. Default: the filesystem of `path` plus LMDB's reusable pages (tests inject one). */
  diskSpaceProbe?: DiskSpaceProbe;
  /** How often free space is measured again (see kv/disk-space.ts). Default 1 s. */
  diskRecheckMs?: number;
  /**
   * Told when the store's condition changes: free space below the floor and back, and once if
   * the store fails (kv/fail-safe-kv.ts), after which it refuses every write. Must not throw.
   */
  onCondition?: (condition: StoreCondition) => void;
  /** Wraps the KV engine under the store (tests inject faults with it). Default: none. */
  wrapKv?: (kv: KvEngine) => KvEngine;
}

/** Opens (or creates) the LMDB store in `options.path`. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<Store> {
  const kv = LmdbKv.open({
    path: options.path,
    durability: options.durability ?? "flush",
    mapSizeBytes: options.mapSizeBytes ?? 64 * 1024 ** 3,
    ...(options.commitObserver ? { onCommit: options.commitObserver } : {}),
  });
  const report = options.onCondition ?? (() => {});
  const guard = new DiskGuard({
    min: options.minFreeDisk ?? DEFAULT_MIN_FREE_DISK,
    probe: options.diskSpaceProbe ?? filesystemProbe(options.path, () => kv.reusableBytes()),
    ...(options.diskRecheckMs === undefined ? {} : { recheckMs: options.diskRecheckMs }),
    onChange: (s) =>
      report(s.low ? { kind: "low-disk", freeBytes: s.freeBytes, minFreeBytes: s.minFreeBytes } : { kind: "ok" }),
  });
  try {
    await guard.measure();
    return new DiskGuardedStore(options.wrapKv ? options.wrapKv(kv) : kv, guard, {
      maxReplayEntries: options.maxReplayEntries,
      where: `the data directory ${options.path}`,
      onFailure: (failure) => report({ kind: "failed", failure }),
    });
  } catch (e) {
    guard.close();
    await kv.close();
    throw e;
  }
}

/**
 * Creates an in-memory store. Pass the same `data` again to "reopen" what a closed store held
 * (tests of restart behaviour).
 */
export function createMemoryStore(data: MemoryKvData = createMemoryKvData(), maxReplayEntries?: number): Store {
  return new KvStore(new MemoryKv(data), { maxReplayEntries });
}

export { MAX_REPLAY_ENTRIES, MAX_SNAPSHOTS_PER_TOPIC } from "./store.js";
export { createMemoryKvData };
