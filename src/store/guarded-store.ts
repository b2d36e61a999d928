import { KvStore } from "./engine/kv-store.js";
import type { KvStoreOptions } from "./engine/kv-store-base.js";
import type { DiskGuard } from "./kv/disk-space.js";
import type { KvEngine } from "./kv/kv.js";
import type { AppendRecord, AppendResult } from "./store.js";

/** LMDB's page size on the platforms we run on (4 KiB). */
const PAGE_BYTES = 4096;
/**
 * A value larger than about this goes to overflow pages of its own (LMDB keeps a node of a 4 KiB
 * page under ~2 KiB): it takes whole pages, so its size rounds up to the next page.
 */
const OVERFLOW_THRESHOLD_BYTES = 2000;
/** Bytes a stored message costs beyond its fields: keys, header and index entries. */
const PER_MESSAGE_OVERHEAD_BYTES = 256;

/**
 * What one message takes on disk, estimated from above: its fields plus keys and index entries;
 * a large one in whole overflow pages (plus a page header), a small one twice over because a
 * B-tree leaf page is about half full after it splits.
 */
export function storedBytesEstimate(record: AppendRecord): number {
  let bytes = record.data.length + record.id.length + record.orderingKey.length + PER_MESSAGE_OVERHEAD_BYTES;
  const attributes = record.attributes;
  for (const k in attributes) bytes += k.length + (attributes[k] as string).length + 8;
  if (bytes > OVERFLOW_THRESHOLD_BYTES) return Math.ceil((bytes + 16) / PAGE_BYTES) * PAGE_BYTES;
  return 2 * bytes;
}

/**
 * The KV store with the free-space floor in front of publishing: each append reserves what it
 * will store ({@link DiskGuard.reserve}, INSUFFICIENT_STORAGE below the floor) before it runs,
 * keeps what it stored counted after, and gives the bytes back when it fails or stored
 * duplicates. Everything else (acks, nacks, purges, deletes, dead letters) is never refused for space.
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
    const sizes = records.map(storedBytesEstimate);
    let total = 0;
    for (const size of sizes) total += size;
    const reservation = this.guard.reserve(total);
    let results: AppendResult[];
    try {
      results = await super.append(topic, records, nowMs);
    } catch (e) {
      reservation.refund();
      throw e;
    }
    let stored = 0;
    results.forEach((r, i) => {
      if (!r.duplicate) stored += sizes[i] ?? 0;
    });
    reservation.commit(stored);
    return results;
  }

  override async close(): Promise<void> {
    this.guard.close();
    await super.close();
  }
}
