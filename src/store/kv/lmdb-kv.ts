import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import type { Durability } from "../durability.js";
import { DEFAULT_ACK_COMMIT_DELAY_MS, DEFAULT_COMMIT_DELAY_MS } from "./commit-delays.js";
import { type Batch, CommitQueue } from "./commit-queue.js";
import type { StoreSpace } from "./disk-space.js";
import { KvCommitError, type KvEngine, type KvReader, type KvWriteOptions, type KvWriter } from "./kv.js";
import { commitError } from "./lmdb-commit-error.js";
import { lmdbReader, openViews } from "./lmdb-reader.js";
import { type LmdbStats, storeSpaceOf } from "./lmdb-stats.js";
import { type Pending, PendingWriter, PendingWrites } from "./pending-writes.js";
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
 * in flight (group commit, {@link LmdbKv.write}). Each callback runs on the main thread when its
 * write is submitted, over the writes not committed yet (pending-writes.ts), and its puts and
 * deletes go in as one block of lmdb-js's asynchronous instructions, which commits whole; a
 * callback that throws queues none of them, so a callback's writes are all or none.
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
    this.txn = lmdbReader(db, openViews(db));
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
   * Hands one write to lmdb-js: it joins the batch of this event turn. `fn` runs here, at once,
   * against a {@link PendingWriter} (the committed state under the writes of earlier callbacks not
   * committed yet, and under this write's `deletes`), and the deletes and its puts go to lmdb-js
   * as one block of asynchronous instructions (`batch`): the write thread runs them in one
   * transaction without calling back into the main thread (a child transaction's callback costs
   * a round trip write thread → main thread → write thread, and holds the transaction while the
   * main thread is busy). Values are copied when put (lmdb-js reads them later, on its thread).
   * A callback that throws queues only the deletes (harmless by contract, kv.ts) and is answered
   * with its error when their transaction settles, so answers keep the call order.
   */
  private submit<T>(fn: (txn: KvWriter) => T, deletes?: () => readonly Buffer[]): Promise<T> {
    let dels: Pending[] = [];
    if (deletes) {
      try {
        dels = deletes().map((key) => ({ key, value: undefined }));
      } catch (e) {
        return Promise.reject(e); // the write is refused; nothing was queued for it
      }
      this.uncommitted.add(dels);
    }
    const writer = new PendingWriter(this.txn, this.uncommitted);
    let out: T | undefined;
    let threw: { error: unknown } | undefined;
    try {
      out = fn(writer);
    } catch (error) {
      threw = { error };
    }
    const ops = threw ? [] : writer.ops;
    const db = this.db;
    let done: Promise<unknown>;
    try {
      done = db.batch(() => {
        for (const p of dels) void db.remove(p.key);
        for (const p of ops) {
          if (p.value === undefined) void db.remove(p.key);
          else void db.put(p.key, p.value);
        }
      }) as Promise<unknown>;
    } catch (e) {
      // lmdb-js refused the block (a closed environment): what it took is unknown, so this is a
      // failure of the store (FailSafeKv), not a refusal.
      this.uncommitted.settle(dels);
      return Promise.reject(new KvCommitError(`LMDB refused a write: ${String(e)}`, { cause: e }));
    }
    this.uncommitted.add(ops);
    const batch = this.queue.joinBatch(this.endOfBatchTurn);
    return done.then(
      () => {
        this.uncommitted.settle(dels);
        this.uncommitted.settle(ops);
        this.leave(batch);
        if (threw) throw threw.error;
        return out as T;
      },
      (e: unknown) => {
        if (!threw) return this.submitFailed(e, batch);
        this.leave(batch);
        throw threw.error;
      },
    );
  }

  /**
   * A write of `batch` settled. Writes held for its room go on the next turn, after the answers
   * of this one: as when each callback ran inside its transaction, a held write's callback runs
   * only once the transaction before it is answered (lmdb-kv.test.ts).
   */
  private leave(batch: Batch): void {
    if (this.leaving.push(batch) === 1) setImmediate(this.leaveAll);
  }

  /** The writes settled in one turn leave their batches together, on the next. */
  private leaving: Batch[] = [];
  private readonly leaveAll = (): void => {
    const leaving = this.leaving;
    this.leaving = [];
    for (const batch of leaving) this.queue.leaveBatch(batch);
  };

  /**
   * The commit or sync of `batch` failed: the engine can no longer sync, and held writes are
   * refused before the batch leaves.
   */
  private async submitFailed(e: unknown, batch: Batch): Promise<never> {
    try {
      const error = await commitError(e);
      this.queue.fail(error);
      throw error;
    } finally {
      this.queue.leaveBatch(batch);
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

  /** The reads of every transaction, of the committed state (see {@link lmdbReader}). */
  private readonly txn: KvReader;
  /** The writes submitted whose transaction has not settled: what later callbacks read over {@link txn}. */
  private readonly uncommitted = new PendingWrites();
}
