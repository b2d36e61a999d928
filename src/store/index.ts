import type { Durability } from "./durability.js";
import { KvStore } from "./engine/kv-store.js";
import { LmdbKv } from "./kv/lmdb-kv.js";
import { createMemoryKvData, MemoryKv, type MemoryKvData } from "./kv/memory-kv.js";
import type { Store } from "./store.js";

export { DEAD_LETTER_ATTRIBUTES, type DeadLetterReason, isDeadLetterAttribute } from "./dead-letters.js";
export type { Durability } from "./durability.js";
export type { MemoryKvData } from "./kv/memory-kv.js";
export type * from "./store.js";

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
}

/** Opens (or creates) the LMDB store in `options.path`. */
export async function openLmdbStore(options: LmdbStoreOptions): Promise<Store> {
  const kv = LmdbKv.open({
    path: options.path,
    durability: options.durability ?? "flush",
    mapSizeBytes: options.mapSizeBytes ?? 64 * 1024 ** 3,
    ...(options.commitObserver ? { onCommit: options.commitObserver } : {}),
  });
  try {
    return new KvStore(kv, { maxReplayEntries: options.maxReplayEntries, where: `the data directory ${options.path}` });
  } catch (e) {
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
