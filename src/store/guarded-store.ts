import { KvStore } from "./engine/kv-store.js";
import type { KvStoreOptions } from "./engine/kv-store-base.js";
import type { DiskGuard } from "./kv/disk-space.js";
import type { KvEngine } from "./kv/kv.js";
import type { AppendRecord, AppendResult } from "./store.js";

/** Bytes a stored message costs beyond its data (keys, header, index entries), for the estimate. */
const PER_MESSAGE_OVERHEAD_BYTES = 256;

/**
 * The KV store with the free-space floor in front of publishing: {@link DiskGuard.check} before
 * each append (INSUFFICIENT_STORAGE below the floor), and the bytes it stored counted after.
 * Everything else (acks, nacks, purges, deletes, dead letters) is never refused for space.
 */
export class DiskGuardedStore extends KvStore {
  constructor(
    kv: KvEngine,
    private readonly guard: DiskGuard,
    options: KvStoreOptions = {},
  ) {
    super(kv, options);
  }

  override async append(topic: string, records: readonly AppendRecord[], nowMs: number): Promise<AppendResult[]> {
    this.guard.check();
    const results = await super.append(topic, records, nowMs);
    let bytes = 0;
    results.forEach((r, i) => {
      if (!r.duplicate) bytes += (records[i]?.data.length ?? 0) + PER_MESSAGE_OVERHEAD_BYTES;
    });
    this.guard.noteWritten(bytes);
    return results;
  }

  override async close(): Promise<void> {
    this.guard.close();
    await super.close();
  }
}
