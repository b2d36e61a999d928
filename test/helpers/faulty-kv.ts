/** A KV engine wrapper for fault injection: counts writes and throws at a chosen one. */
import type { KvEngine, KvReader, KvWriter } from "../../src/store/kv/kv.js";

/**
 * Wraps a {@link KvEngine}: every put and del inside a write callback is counted, and when
 * {@link FaultyKv.failAtWrite} is set, that write (1-based, counted from the last
 * {@link FaultyKv.reset}) throws before it is made, as an unexpected exception midway through a
 * store operation would.
 */
export class FaultyKv implements KvEngine {
  /** Puts and dels since the last reset. */
  writes = 0;
  /** The write that throws, or undefined for none. */
  failAtWrite: number | undefined;

  constructor(readonly inner: KvEngine) {}

  /** Starts counting from zero; `failAt` arms the fault. */
  reset(failAt?: number): void {
    this.writes = 0;
    this.failAtWrite = failAt;
  }

  write<T>(fn: (txn: KvWriter) => T, options?: { sync?: boolean }): Promise<T> {
    return this.inner.write(
      (w) =>
        fn({
          get: (key) => w.get(key),
          range: (r) => w.range(r),
          keys: (r) => w.keys(r),
          scan: (r, visit) => w.scan(r, visit),
          view: (k) => w.view(k),
          put: (key, value) => {
            this.count();
            w.put(key, value);
          },
          del: (key) => {
            this.count();
            w.del(key);
          },
        }),
      options,
    );
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return this.inner.read(fn);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private count(): void {
    this.writes++;
    if (this.writes === this.failAtWrite) throw new Error(`injected fault at KV write ${this.writes}`);
  }
}
