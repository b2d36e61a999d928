import {
  type KvEngine,
  type KvEntry,
  type KvRange,
  type KvReader,
  type KvVisitor,
  type KvWriteOptions,
  type KvWriter,
  MAX_KEY_BYTES,
} from "./kv.js";

/** The data behind a {@link MemoryKv}; kept by the caller to "reopen" after close. */
export interface MemoryKvData {
  /** Keys as latin1 strings (byte order = string order), sorted. */
  keys: string[];
  values: Map<string, Buffer>;
}

/** Creates empty {@link MemoryKvData}. */
export function createMemoryKvData(): MemoryKvData {
  return { keys: [], values: new Map() };
}

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * An in-memory {@link KvEngine} on a sorted array. Writes run in order on a later macrotask,
 * batched like LMDB's, so ordering bugs show up in unit tests too; a callback that throws has
 * its writes undone, as LMDB's child transactions do.
 */
export class MemoryKv implements KvEngine {
  private readonly data: MemoryKvData;
  private queue: Array<() => void> = [];
  private scheduled = false;
  private closed = false;
  /** While a write callback runs: each change it made, with the value the key had before it. */
  private undo: Array<{ key: string; before: Buffer | undefined }> | undefined;

  constructor(data: MemoryKvData = createMemoryKvData()) {
    this.data = data;
  }

  write<T>(fn: (txn: KvWriter) => T, options: KvWriteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new Error("store is closed"));
    const { deletes } = options;
    return new Promise<T>((resolve, reject) => {
      this.queue.push(() => {
        if (deletes) {
          // As LMDB: named when the write runs, applied first, and kept when `fn` throws.
          let keys: readonly Buffer[];
          try {
            keys = deletes();
          } catch (e) {
            reject(e);
            return;
          }
          for (const key of keys) this.writer.del(key);
        }
        this.undo = [];
        try {
          resolve(fn(this.writer));
        } catch (e) {
          this.rollBack();
          reject(e);
        } finally {
          this.undo = undefined;
        }
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return fn(this.writer);
  }

  async close(): Promise<void> {
    while (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    this.closed = true;
  }

  /** Puts back what the running callback changed, newest first. */
  private rollBack(): void {
    const undo = this.undo ?? [];
    this.undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) {
      const { key, before } = undo[i] as { key: string; before: Buffer | undefined };
      if (before === undefined) this.remove(key);
      else this.set(key, before);
    }
  }

  /** Notes `k`'s value before the running callback's first change of it. */
  private remember(k: string): void {
    if (!this.undo) return;
    this.undo.push({ key: k, before: this.data.values.get(k) });
  }

  private set(k: string, value: Buffer): void {
    if (!this.data.values.has(k)) this.data.keys.splice(lowerBound(this.data.keys, k), 0, k);
    this.data.values.set(k, value);
  }

  private remove(k: string): void {
    if (!this.data.values.delete(k)) return;
    this.data.keys.splice(lowerBound(this.data.keys, k), 1);
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    for (const run of batch) run();
  }

  private readonly writer: KvWriter = {
    get: (key) => {
      const v = this.data.values.get(key.toString("latin1"));
      return v === undefined ? undefined : Buffer.from(v);
    },
    range: (r: KvRange) => this.range(r),
    keys: (r: KvRange) => this.keyRange(r),
    scan: (r: KvRange, visit: KvVisitor) => this.scan(r, visit),
    view: (key) => this.data.values.get(key.toString("latin1")),
    put: (key, value) => {
      // As LMDB does, so the in-memory reference shows the same failures.
      if (key.length > MAX_KEY_BYTES)
        throw new Error(`key of ${key.length} bytes is over the ${MAX_KEY_BYTES}-byte limit`);
      const k = key.toString("latin1");
      this.remember(k);
      this.set(k, Buffer.from(value));
    },
    del: (key) => {
      const k = key.toString("latin1");
      if (!this.data.values.has(k)) return;
      this.remember(k);
      this.remove(k);
    },
  };

  private range(r: KvRange): KvEntry[] {
    return this.keysOf(r).map((k) => this.entry(k));
  }

  /** Visits the stored values themselves: a view, as LMDB's, is not to be kept or changed. */
  private scan(r: KvRange, visit: KvVisitor): number {
    let n = 0;
    for (const k of this.keysOf(r)) {
      n++;
      if (!visit(Buffer.from(k, "latin1"), this.data.values.get(k) as Buffer)) break;
    }
    return n;
  }

  private keyRange(r: KvRange): Buffer[] {
    return this.keysOf(r).map((k) => Buffer.from(k, "latin1"));
  }

  /** The (latin1) keys of a range, in the order asked for. */
  private keysOf({ start, end, limit = Number.POSITIVE_INFINITY, reverse = false }: KvRange): string[] {
    const keys = this.data.keys;
    const lo = lowerBound(keys, start.toString("latin1"));
    const hi = lowerBound(keys, end.toString("latin1"));
    const out: string[] = [];
    if (reverse) {
      for (let i = hi - 1; i >= lo && out.length < limit; i--) out.push(keys[i] as string);
    } else {
      for (let i = lo; i < hi && out.length < limit; i++) out.push(keys[i] as string);
    }
    return out;
  }

  private entry(k: string): KvEntry {
    return { key: Buffer.from(k, "latin1"), value: Buffer.from(this.data.values.get(k) as Buffer) };
  }
}
