import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import type { Durability } from "../durability.js";
import type { KvEngine, KvEntry, KvRange, KvReader, KvWriter } from "./kv.js";

/** A key below `key` with no key between the two but ones that share all of `key` but its last byte. */
function keyBelow(key: Buffer): Buffer {
  if (key.length === 0) return key;
  const last = key[key.length - 1] as number;
  if (last === 0) return key.subarray(0, key.length - 1);
  const b = Buffer.from(key);
  b[b.length - 1] = last - 1;
  return b;
}

/** Options of {@link LmdbKv.open}. */
export interface LmdbKvOptions {
  path: string;
  durability: Durability;
  /** LMDB map size in bytes (address space reserved, not disk used). */
  mapSizeBytes: number;
  /**
   * Called after each write with the seconds from its start to its commit (and sync to disk,
   * when it syncs): the store commit latency metric. Must not throw.
   */
  onCommit?: (seconds: number) => void;
}

/**
 * {@link KvEngine} on one LMDB environment with binary keys and values. Write callbacks of one
 * event turn share a transaction (lmdb-js batching); with `flush` durability a write resolves
 * only after its transaction is synced to disk.
 */
export class LmdbKv implements KvEngine {
  private constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly durability: Durability,
    private readonly onCommit?: (seconds: number) => void,
  ) {}

  static open(options: LmdbKvOptions): LmdbKv {
    mkdirSync(options.path, { recursive: true });
    const db = open<Buffer, Buffer>({
      path: options.path,
      keyEncoding: "binary",
      encoding: "binary",
      mapSize: options.mapSizeBytes,
      noSync: options.durability === "none",
      compression: false,
      // lmdb-js treats a path with an extension as a file name; ours is always a directory.
      noSubdir: false,
    });
    return new LmdbKv(db, options.durability, options.onCommit);
  }

  /** Writes queued but not yet resolved; close() waits for them (lmdb-js's close does not). */
  private readonly pending = new Set<Promise<unknown>>();

  async write<T>(fn: (txn: KvWriter) => T, options: { sync?: boolean } = {}): Promise<T> {
    const done = this.commit(fn, options.sync ?? true);
    this.pending.add(done);
    try {
      return await done;
    } finally {
      this.pending.delete(done);
    }
  }

  private async commit<T>(fn: (txn: KvWriter) => T, sync: boolean): Promise<T> {
    const started = this.onCommit ? performance.now() : 0;
    const result = (await this.db.transaction(() => fn(this.txn))) as T;
    if (sync && this.durability === "flush") await this.db.flushed;
    this.onCommit?.((performance.now() - started) / 1000);
    return result;
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return fn(this.txn);
  }

  async close(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.db.close();
  }

  private readonly txn: KvWriter = {
    get: (key) => this.db.get(key),
    range: (r: KvRange) => this.range(r),
    put: (key, value) => {
      this.db.putSync(key, value);
    },
    del: (key) => {
      this.db.removeSync(key);
    },
  };

  private range({ start, end, limit, reverse = false }: KvRange): KvEntry[] {
    const out: KvEntry[] = [];
    if (!reverse) {
      for (const { key, value } of this.db.getRange({ start, end, limit })) out.push({ key, value });
      return out;
    }
    // Reversed, lmdb-js walks from its `start` (inclusive) down to its `end` (exclusive): begin at
    // our exclusive upper bound and skip it, and end below our inclusive lower bound, skipping
    // what lies under it.
    const max = limit ?? Number.POSITIVE_INFINITY;
    const opts = {
      start: end,
      end: keyBelow(start),
      reverse: true,
      limit: limit === undefined ? undefined : limit + 2,
    };
    for (const { key, value } of this.db.getRange(opts)) {
      if (Buffer.compare(key, end) >= 0) continue;
      if (Buffer.compare(key, start) < 0 || out.length >= max) break;
      out.push({ key, value });
    }
    return out;
  }
}
