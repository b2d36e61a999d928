import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import type { Durability } from "../durability.js";
import { DEFAULT_ACK_COMMIT_DELAY_MS, DEFAULT_COMMIT_DELAY_MS } from "./commit-delays.js";
import { type Batch, CommitQueue } from "./commit-queue.js";
import type { StoreSpace } from "./disk-space.js";
import { KvCommitError, type KvEngine, type KvReader, type KvWriteOptions, type KvWriter } from "./kv.js";
import { lmdbReader, openViews } from "./lmdb-reader.js";
import { type LmdbStats, storeSpaceOf } from "./lmdb-stats.js";
import { within } from "./within.js";

/** Options of {@link LmdbKv.open}. */
export interface LmdbKvOptions {
  path: string;
  durability: Durability;
  /**
   * LMDB's initial map size in bytes: address space reserved, not disk used. lmdb-js grows the
   * map when the data outgrows it (its LMDB fork remaps on demand), so it is no cap on the store;
   * the cap is `--max-store-bytes`, kept by the free-space gate (disk-space.ts).
   */
  mapSizeBytes: number;
  /**
   * Called after each write with the seconds from its start to its commit (and sync to disk,
   * when it syncs): the store commit latency metric. Must not throw.
   */
  onCommit?: (seconds: number) => void;
  /** Longest wait of {@link LmdbKv.close} for writes in flight, then for LMDB's close. Default 5 s. */
  closeTimeoutMs?: number;
  /**
   * Longest time a deferrable write (an Ack, a background write) is held, while Publishes come
   * often, to share the next one's transaction ({@link LmdbKv.write}). 0: never held for that.
   * Default {@link DEFAULT_ACK_COMMIT_DELAY_MS}.
   */
  ackCommitDelayMs?: number;
  /**
   * Longest time any other write (a Publish) that finds no batch in flight is held while such
   * writes come often, so that the writes right behind it share its transaction
   * ({@link LmdbKv.write}). 0: never. Default {@link DEFAULT_COMMIT_DELAY_MS}.
   */
  commitDelayMs?: number;
}

/** How long a commit failure's details (lmdb-js's `commitError`) are waited for. */
const COMMIT_ERROR_WAIT_MS = 1000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;
/**
 * Batches handed to lmdb-js at once; later writes wait for one to settle (group commit, see
 * {@link LmdbKv.write}). Two: one can commit while the one before it syncs (lmdb-js's
 * overlapping sync), and everything that arrives meanwhile goes in the next one. One saved a
 * little more CPU in process but made every answer wait for a whole sync (BENCHMARKS.md, "W3:
 * where the broker's CPU goes").
 */
const MAX_BATCHES_IN_FLIGHT = 2;
const noop = () => {};

/**
 * {@link KvEngine} on one LMDB environment with binary keys and values. Write callbacks of one
 * event turn share a transaction (lmdb-js batching), and so do those held while two batches are
 * in flight (group commit, {@link LmdbKv.write}); each runs in a nested (child) transaction
 * of it, which LMDB discards when the callback throws, so a callback's writes are all or none.
 * A write resolves with its own transaction: with LMDB's overlapping sync (lmdb-js's default on
 * Linux unless `none`), a commit returns only after its sync, and a failed sync rejects it.
 */
export class LmdbKv implements KvEngine {
  private constructor(
    private readonly db: RootDatabase<Buffer, Buffer>,
    private readonly onCommit: ((seconds: number) => void) | undefined,
    private readonly closeTimeoutMs: number,
    private readonly queue: CommitQueue,
  ) {
    this.txn = {
      ...lmdbReader(db, openViews(db)),
      put: (key, value) => {
        db.putSync(key, value);
      },
      del: (key) => {
        db.removeSync(key);
      },
    };
  }

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
    // Without syncs a transaction is cheap: holding writes would only add latency.
    const syncs = options.durability !== "none";
    const queue = new CommitQueue({
      maxBatchesInFlight: MAX_BATCHES_IN_FLIGHT,
      deferrableDelayMs: syncs ? (options.ackCommitDelayMs ?? DEFAULT_ACK_COMMIT_DELAY_MS) : 0,
      commitDelayMs: syncs ? (options.commitDelayMs ?? DEFAULT_COMMIT_DELAY_MS) : 0,
    });
    return new LmdbKv(db, options.onCommit, options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS, queue);
  }

  /** Writes queued but not yet settled; close() waits for them (lmdb-js's close does not). */
  private readonly pending = new Set<Promise<unknown>>();
  private closed = false;
  /** Writes and transactions since open (diagnostics, tests: see {@link counts}). */
  private writes = 0;

  /**
   * Group commit: while two batches are in flight, later writes wait and then go together in
   * one transaction (one commit, one sync) instead of one each. A write that arrives when fewer
   * are in flight, or while a batch is still forming in the same event turn, goes at once. A synced
   * transaction costs the same CPU (pages written, fdatasync, the write thread's hand-offs)
   * whether it holds one write or fifty, so this is what keeps the CPU per message low at
   * moderate rates, for at most one commit's wait more (README, "Durability").
   *
   * Commit delay (commit-queue.ts): while Publishes come often, a `deferrable` write (an Ack, a
   * background write) is held until the next write that is not deferrable or the ack commit
   * delay, whichever comes first, and then shares its transaction; with a commit delay, a write
   * that finds no batch in flight is held the same way. On an idle store every write goes at
   * once. Each write is still answered only after its own transaction is committed and synced,
   * and writes apply in the order called.
   */
  write<T>(fn: (txn: KvWriter) => T, options: KvWriteOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new KvCommitError("the LMDB environment is closed"));
    this.writes++;
    const started = this.onCommit ? performance.now() : 0;
    const run = this.queue.schedule(() => this.submit(fn, options.deletes), options.deferrable === true);
    this.pending.add(run);
    return run.then(
      (result) => {
        this.pending.delete(run);
        this.onCommit?.((performance.now() - started) / 1000);
        return result;
      },
      (e: unknown) => {
        this.pending.delete(run);
        throw e;
      },
    );
  }

  /** Writes and the batches (transactions) they took since open: how well they share (diagnostics, tests). */
  counts(): { writes: number; batches: number } {
    return { writes: this.writes, batches: this.queue.batches };
  }

  /**
   * Hands one write to lmdb-js: it joins the batch of this event turn. Its `deletes` go first, as
   * lmdb-js's asynchronous removes: its write thread runs them in that batch's transaction, ahead
   * of the callback (write.js: a batch's instructions run in order, in one transaction). The
   * write settles in one promise reaction on its transaction's outcome (not an async function,
   * whose await and `finally` would add reactions to every Publish's commit → answer path).
   */
  private submit<T>(fn: (txn: KvWriter) => T, deletes?: () => readonly Buffer[]): Promise<T> {
    if (deletes) {
      try {
        this.removeInBatch(deletes());
      } catch (e) {
        return Promise.reject(e); // the write is refused; nothing was queued for it
      }
    }
    let threw = false;
    // A child transaction: lmdb-js aborts it when the callback throws (write.js,
    // executeTxnCallbacks), while `transaction` would keep what the callback wrote before.
    const txn = this.db.childTransaction(() => {
      try {
        return fn(this.txn);
      } catch (e) {
        threw = true;
        throw e;
      }
    }) as Promise<T>;
    const batch = this.queue.joinBatch(this.endOfBatchTurn);
    return txn.then(
      (result) => {
        this.queue.leaveBatch(batch);
        return result;
      },
      (e: unknown) => this.submitFailed(e, threw, batch),
    );
  }

  /**
   * A write of `batch` failed: its callback threw (its error is the write's), or the batch's
   * commit or sync failed, after which the engine can no longer sync and held writes are refused.
   */
  private async submitFailed(e: unknown, threw: boolean, batch: Batch): Promise<never> {
    try {
      if (threw) throw e;
      const error = await commitError(e);
      this.queue.fail(error);
      throw error;
    } finally {
      this.queue.leaveBatch(batch);
    }
  }

  /** Queues removes in this event turn's batch; their outcome is the batch's, which the callback's promise carries. */
  private removeInBatch(keys: readonly Buffer[]): void {
    let last: Promise<boolean> | undefined;
    for (const key of keys) {
      const p = this.db.remove(key);
      if (p !== last) p.then(noop, noop); // unconditional removes share the batch's promise
      last = p;
    }
  }

  /**
   * lmdb-js starts each event-turn batch with a write whose promise it drops; when that batch
   * fails to commit, the promise rejects with no handler and Node ends the process. After the
   * batch has started (lmdb-js starts it on setImmediate), give its promise a handler; each
   * write's own promise still carries the outcome. From then on, writes form the next batch.
   */
  private readonly endOfBatchTurn = (end: () => void): void => {
    setImmediate(() => {
      end();
      this.db.committed.then(noop, noop);
    });
  };

  /** Where the store stands inside its data file (see {@link storeSpaceOf}). */
  storeSpace(): StoreSpace {
    if (this.closed) return { usedBytes: 0, reusableBytes: 0 };
    return storeSpaceOf(this.db.getStats() as LmdbStats);
  }

  /** LMDB's id of the last committed transaction: how many transactions the writes took (tests, diagnostics). */
  lastTransactionId(): number {
    return (this.db.getStats() as { lastTxnId: number }).lastTxnId;
  }

  read<T>(fn: (reader: KvReader) => T): T {
    return fn(this.txn);
  }

  /**
   * Waits up to the close timeout for writes in flight, then closes LMDB, also boundedly: after
   * a failed sync, lmdb-js's close waits for a flush that never comes.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Writes still held for a commit delay go now (with two batches in flight, when one settles).
    // Behind FailSafeKv this finds nothing: its close waits for every write first, and held
    // writes go on their own timers within the delay.
    this.queue.flush();
    await within(Promise.allSettled([...this.pending]), this.closeTimeoutMs);
    await within(this.db.close().catch(noop), this.closeTimeoutMs);
  }

  /** The reads and writes of every transaction (see {@link lmdbReader}). */
  private readonly txn: KvWriter;
}

/**
 * The error of a failed commit: lmdb-js rejects each write of the batch with "Commit failed"
 * and the cause (errno, LMDB code) in a `commitError` promise that rejects right after.
 */
async function commitError(e: unknown): Promise<KvCommitError> {
  const details = (e as { commitError?: Promise<unknown> } | undefined)?.commitError;
  let cause: unknown = e;
  if (details && typeof details.then === "function") {
    const settled = details.then(
      () => e,
      (reason: unknown) => reason,
    );
    cause = (await within(settled, COMMIT_ERROR_WAIT_MS)) ?? e;
  }
  const what = cause instanceof Error ? cause.message : String(cause);
  return new KvCommitError(`LMDB failed to commit or sync a write: ${what}`, { cause });
}
