/**
 * The store's failed state. A write whose commit or sync failed leaves the disk in a state the
 * process cannot know (LMDB makes a commit visible before it syncs; after a failed fsync the
 * kernel may have dropped the dirty pages, PostgreSQL's "fsyncgate"), and an operation that threw
 * midway may have changed the engine's in-memory state though its writes were discarded. Going
 * on from either could answer reads and later writes from data that is not on disk. So the store
 * stops on purpose: every write waiting and every later one fails with STORE_FAILED (which does
 * not say that nothing was written), and the owner is told once, so it can report NOT_SERVING
 * and exit for a supervisor to restart it onto what is really on disk.
 */
import { BrokerError } from "../../errors/index.js";
import type { KvEngine, KvEntry, KvRange, KvReader, KvVisitor, KvWriteOptions, KvWriter } from "./kv.js";
import { within } from "./within.js";

/** Why the store stopped. */
export interface StoreFailure {
  /** For the log: what failed, in words. */
  readonly message: string;
  /** The underlying error (errno, LMDB code, the exception of an operation). */
  readonly cause: unknown;
}

/** Options of {@link FailSafeKv}. */
export interface FailSafeKvOptions {
  /** Called once, when the store fails. Must not throw. */
  onFailure?: (failure: StoreFailure) => void;
  /**
   * Longest wait of {@link FailSafeKv.close} for writes in flight, and then for the engine's
   * own close. A write still waiting then fails the store. Default 5 s.
   */
  closeTimeoutMs?: number;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/** How long close waits for the engine's own close once the store has failed. */
const FAILED_CLOSE_WAIT_MS = 500;

/** The error every call gets once the store has failed. */
export function storeFailedError(failure: StoreFailure): BrokerError {
  return new BrokerError(
    "STORE_FAILED",
    "the store failed and the broker is stopping; this call's changes may or may not have been saved",
    { cause: failure.cause },
  );
}

/**
 * A {@link KvEngine} wrapper that turns the failures it cannot recover from into the failed
 * state (see the module comment). A callback that throws a BrokerError before its first write
 * is a refusal (validation) and passes through; its store goes on.
 */
export class FailSafeKv implements KvEngine {
  private failed: StoreFailure | undefined;
  /** Each write still waiting for its transaction, and how to reject it. */
  private readonly waiting = new Map<(e: BrokerError) => void, Promise<unknown>>();

  constructor(
    private readonly inner: KvEngine,
    private readonly options: FailSafeKvOptions = {},
  ) {}

  /** Why the store failed, or undefined while it works. */
  get failure(): StoreFailure | undefined {
    return this.failed;
  }

  write<T>(fn: (txn: KvWriter) => T, options?: KvWriteOptions): Promise<T> {
    if (this.failed) return Promise.reject(storeFailedError(this.failed));
    let thrown: { error: unknown; afterWrites: number } | undefined;
    const operation = (w: KvWriter): T => {
      const counted = new CountingWriter(w);
      try {
        return fn(counted);
      } catch (error) {
        thrown = { error, afterWrites: counted.writes };
        throw error;
      }
    };
    let settled: Promise<unknown> = Promise.resolve();
    return new Promise<T>((resolve, reject) => {
      settled = this.inner.write(operation, options).then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (e: unknown) => {
          this.waiting.delete(reject);
          if (this.failed) return reject(storeFailedError(this.failed));
          if (thrown && thrown.error instanceof BrokerError && thrown.afterWrites === 0) return reject(thrown.error);
          const failure = thrown
            ? this.fail("a store operation threw midway; its writes were discarded", thrown.error)
            : this.fail("the disk failed to commit or sync a write", e);
          reject(storeFailedError(failure));
        },
      );
      this.waiting.set(reject, settled);
    });
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return this.inner.read(fn);
  }

  /** Enters the failed state (once): every waiting write is rejected and the owner told. */
  fail(message: string, cause: unknown): StoreFailure {
    if (this.failed) return this.failed;
    const failure = { message, cause };
    this.failed = failure;
    const error = storeFailedError(failure);
    for (const reject of [...this.waiting.keys()]) reject(error);
    this.waiting.clear();
    this.options.onFailure?.(failure);
    return failure;
  }

  /**
   * Waits for the writes in flight, then closes the engine, each at most the close timeout: a
   * write that does not end by then fails the store, and close ends all the same.
   */
  async close(): Promise<void> {
    const ms = this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    await within(Promise.allSettled([...this.waiting.values()]), ms);
    if (this.waiting.size > 0) this.fail(`writes did not end within ${ms} ms of close`, undefined);
    // A failed engine may never settle its own writes or close (lmdb-js waits for a flush that
    // never comes after a failed sync); the process is about to exit, and LMDB needs no close to
    // be consistent on disk.
    await within(this.inner.close(), this.failed ? Math.min(ms, FAILED_CLOSE_WAIT_MS) : ms);
  }
}

/** A writer that counts the puts and deletes made through it (a class: no closures per write). */
class CountingWriter implements KvWriter {
  writes = 0;

  constructor(private readonly w: KvWriter) {}

  get(key: Buffer): Buffer | undefined {
    return this.w.get(key);
  }
  range(range: KvRange): KvEntry[] {
    return this.w.range(range);
  }
  keys(range: KvRange): Buffer[] {
    return this.w.keys(range);
  }
  scan(range: KvRange, visit: KvVisitor): number {
    return this.w.scan(range, visit);
  }
  view(key: Buffer): Buffer | undefined {
    return this.w.view(key);
  }
  put(key: Buffer, value: Buffer): void {
    this.writes++;
    this.w.put(key, value);
  }
  del(key: Buffer): void {
    this.writes++;
    this.w.del(key);
  }
}
