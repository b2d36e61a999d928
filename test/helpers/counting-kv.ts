/**
 * A {@link KvEngine} wrapper that measures what each transaction (write or read) reads: bytes of
 * values copied out (`get`, `range`), bytes of values looked at through views (`view`, `scan`),
 * and keys.
 * For tests that bound the work of one operation or one background step by bytes.
 */
import type { KvEngine, KvRange, KvReader, KvWriter } from "../../src/store/kv/kv.js";

/** What one transaction read. */
export interface ReadWork {
  /** Bytes of values copied out of the engine (get, range). */
  copiedBytes: number;
  /** Bytes of values looked at through transient views (view, scan). */
  viewedBytes: number;
  /** Keys read (range, keys, scan). */
  keys: number;
}

/** Counts the reads of every transaction of the engine it wraps (see the module comment). */
export class CountingKv implements KvEngine {
  /** One entry per write or read transaction since the last {@link take}. */
  works: ReadWork[] = [];

  constructor(private readonly inner: KvEngine) {}

  write<T>(fn: (txn: KvWriter) => T, options?: { sync?: boolean }): Promise<T> {
    return this.inner.write((w) => {
      const work = this.begin();
      return fn({ ...this.counting(w, work), put: (k, v) => w.put(k, v), del: (k) => w.del(k) });
    }, options);
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return this.inner.read((r) => fn(this.counting(r, this.begin())));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The largest of each measure over the transactions since the last call; then forgets them. */
  take(): ReadWork {
    const max = { copiedBytes: 0, viewedBytes: 0, keys: 0 };
    for (const w of this.works) {
      max.copiedBytes = Math.max(max.copiedBytes, w.copiedBytes);
      max.viewedBytes = Math.max(max.viewedBytes, w.viewedBytes);
      max.keys = Math.max(max.keys, w.keys);
    }
    this.works = [];
    return max;
  }

  private begin(): ReadWork {
    const work = { copiedBytes: 0, viewedBytes: 0, keys: 0 };
    this.works.push(work);
    return work;
  }

  private counting(r: KvReader, work: ReadWork): KvReader {
    return {
      get: (key) => {
        const v = r.get(key);
        work.copiedBytes += v?.length ?? 0;
        return v;
      },
      range: (range: KvRange) => {
        const out = r.range(range);
        work.keys += out.length;
        for (const e of out) work.copiedBytes += e.value.length;
        return out;
      },
      keys: (range: KvRange) => {
        const out = r.keys(range);
        work.keys += out.length;
        return out;
      },
      scan: (range: KvRange, visit) =>
        r.scan(range, (key, view) => {
          work.keys++;
          work.viewedBytes += view.length;
          return visit(key, view);
        }),
      view: (key) => {
        const v = r.view(key);
        work.viewedBytes += v?.length ?? 0;
        return v;
      },
    };
  }
}
