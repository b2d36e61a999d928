import { BrokerError } from "../errors/index.js";
import type { Durability } from "./durability.js";
import { KvStore } from "./engine/kv-store.js";
import { DiskGuardedStore } from "./guarded-store.js";
import { DEFAULT_ACK_COMMIT_DELAY_MS, DEFAULT_COMMIT_DELAY_MS } from "./kv/commit-delays.js";
import {
  DEFAULT_MIN_FREE_DISK,
  DiskGuard,
  type DiskSpaceProbe,
  type MinFreeDisk,
  storeSpaceProbe,
  unusableStoreCap,
} from "./kv/disk-space.js";
import type { StoreFailure } from "./kv/fail-safe-kv.js";
import type { KvEngine } from "./kv/kv.js";
import { LmdbKv } from "./kv/lmdb-kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "./kv/memory-kv.js";
import type { Store } from "./store.js";

export { DEAD_LETTER_ATTRIBUTES, type DeadLetterReason, isDeadLetterAttribute } from "./dead-letters.js";
export type { Durability } from "./durability.js";
export {
  DEFAULT_MIN_FREE_DISK,
  type DiskSpace,
  type DiskSpaceProbe,
  type MinFreeDisk,
  type StoreSpace,
} from "./kv/disk-space.js";
export type { StoreFailure } from "./kv/fail-safe-kv.js";
export { KvCommitError, type KvEngine, type KvWriter } from "./kv/kv.js";
export type { MemoryKvData } from "./kv/memory-kv.js";
export type * from "./replay-store.js";
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
  /**
   * LMDB's initial map size in bytes (address space, not disk; lmdb-js grows it on demand, see
   * kv/lmdb-kv.ts). Default {@link DEFAULT_MAP_SIZE_BYTES}.
   */
  mapSizeBytes?: number;
  /**
   * Most bytes the store's data file may hold for new publishes (`--max-store-bytes`): the
   * free-space gate counts the headroom under it like free disk. 0 (default): only the disk limits it.
   */
  maxStoreBytes?: number;
  /** Most messages one Seek or snapshot may touch. Default {@link MAX_REPLAY_ENTRIES}. */
  maxReplayEntries?: number;
  /** Bytes of recent log values kept in memory for delivery (engine/log-tail.ts); 0: none. Default 32 MiB. */
  logTailMaxBytes?: number;
  /**
   * Longest time an Ack or a background write waits, while Publishes come often, to share the
   * next one's transaction (kv/commit-queue.ts). Default {@link DEFAULT_ACK_COMMIT_DELAY_MS}; 0: never.
   */
  ackCommitDelayMs?: number;
  /**
   * Longest time any other write (a Publish) that finds no transaction in flight waits, while
   * such writes come often, for the writes right behind it to share its transaction
   * (kv/commit-queue.ts). Default {@link DEFAULT_COMMIT_DELAY_MS}; 0: never.
   */
  commitDelayMs?: number;
  /** Observes each write's commit latency in seconds (metrics); must not throw. Default: none. */
  commitObserver?: (seconds: number) => void;
  /** Publishes are refused below this much free disk space. Default {@link DEFAULT_MIN_FREE_DISK}. */
  minFreeDisk?: MinFreeDisk;
  /** Measures free space. Default: the filesystem of `path` plus LMDB's reusable pages (tests inject one). */
  diskSpaceProbe?: DiskSpaceProbe;
  /** How often free space is measured again (see kv/disk-space.ts). Default 1 s. */
  diskRecheckMs?: number;
  /** Told when measuring free space fails (once per run of failures; it is retried). Must not throw. */
  onDiskProbeError?: (error: unknown) => void;
  /**
   * Told when the store's condition changes: free space below the floor and back, and once if
   * the store fails (kv/fail-safe-kv.ts), after which it refuses every write. Must not throw.
   */
  onCondition?: (condition: StoreCondition) => void;
  /** Wraps the KV engine under the store (tests inject faults with it). Default: none. */
  wrapKv?: (kv: KvEngine) => KvEngine;
}

/** LMDB's initial map size: 64 GiB of address space (not disk). */
export const DEFAULT_MAP_SIZE_BYTES = 64 * 1024 ** 3;

/**
 * Refuses a `maxStoreBytes` the floor would fill on its own (a store that could never take a
 * publish): with a cap, the floor in bytes must stay below it.
 */
export function checkMaxStoreBytes(maxStoreBytes: number, minFreeDisk: MinFreeDisk): void {
  const floor = unusableStoreCap(maxStoreBytes, minFreeDisk);
  if (floor !== undefined) {
    throw new BrokerError(
      "INVALID_ARGUMENT",
      `--max-store-bytes (${maxStoreBytes}) must be larger than the --min-free-disk floor it leaves free (${floor} bytes)`,
      { metadata: { field: "max_store_bytes" } },
    );
  }
}

/** Opens (or creates) the LMDB store in `options.path`. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<Store> {
  const maxStoreBytes = options.maxStoreBytes ?? 0;
  const min = options.minFreeDisk ?? DEFAULT_MIN_FREE_DISK;
  checkMaxStoreBytes(maxStoreBytes, min);
  const kv = LmdbKv.open({
    path: options.path,
    durability: options.durability ?? "flush",
    mapSizeBytes: options.mapSizeBytes ?? DEFAULT_MAP_SIZE_BYTES,
    ...(options.commitObserver ? { onCommit: options.commitObserver } : {}),
    ackCommitDelayMs: options.ackCommitDelayMs ?? DEFAULT_ACK_COMMIT_DELAY_MS,
    commitDelayMs: options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS,
  });
  const report = options.onCondition ?? (() => {});
  const guard = new DiskGuard({
    min,
    probe: options.diskSpaceProbe ?? storeSpaceProbe(options.path, () => kv.storeSpace(), maxStoreBytes),
    ...(options.diskRecheckMs === undefined ? {} : { recheckMs: options.diskRecheckMs }),
    ...(options.onDiskProbeError ? { onProbeError: options.onDiskProbeError } : {}),
    onChange: (s) =>
      report(s.low ? { kind: "low-disk", freeBytes: s.freeBytes, minFreeBytes: s.minFreeBytes } : { kind: "ok" }),
  });
  try {
    await guard.measure();
    return new DiskGuardedStore(options.wrapKv ? options.wrapKv(kv) : kv, guard, {
      maxReplayEntries: options.maxReplayEntries,
      ...(options.logTailMaxBytes === undefined ? {} : { logTailMaxBytes: options.logTailMaxBytes }),
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
export function createMemoryStore(
  data: MemoryKvData = createMemoryKvData(),
  maxReplayEntries?: number,
  logTailMaxBytes?: number,
): Store {
  return new KvStore(new MemoryKv(data), {
    maxReplayEntries,
    ...(logTailMaxBytes === undefined ? {} : { logTailMaxBytes }),
  });
}

export { MAX_REPLAY_ENTRIES, MAX_SNAPSHOTS_PER_TOPIC } from "./replay-store.js";
export { createMemoryKvData };
