import { BrokerError } from "../../errors/index.js";
import { FailSafeKv, type StoreFailure } from "../kv/fail-safe-kv.js";
import type { KvEngine, KvReader, KvWriteOptions, KvWriter } from "../kv/kv.js";
import { MAX_REPLAY_ENTRIES } from "../replay-store.js";
import type { Cursor } from "./cursor.js";
import { processDue } from "./due.js";
import type { IdDeletePlan } from "./id-deletes.js";
import { Jobs } from "./jobs.js";
import { applyOutgoing } from "./lease.js";
import { checkFormat, loadState } from "./load.js";
import { TAIL_TOTAL_MAX_BYTES } from "./log-tail.js";
import { OpRun } from "./op-run.js";
import type { EngineState, TopicState } from "./state.js";
import { StepBudget } from "./step-budget.js";
import { applyTrimPlan, planTrim, TRIM_STEP_ENTRIES, type TrimPlan, trimPending } from "./trim.js";
import type { Tx } from "./tx.js";

/**
 * The time operations without a caller's clock run at (deletes, flushes): no dedup window ends
 * at it, so window-scope ids of released messages stay until the dedup sweep removes them.
 */
export const NO_CLOCK_MS = Number.NEGATIVE_INFINITY;
/** How soon cursors changed by deliveries (scan marks) are written when no other write comes. */
const FLUSH_AFTER_MS = 100;
/** How soon after a release the trim deletes released messages (trim.ts): acks in between share a step. */
const TRIM_AFTER_MS = 20;

/** Options of {@link KvStore}. */
export interface KvStoreOptions {
  /** Most messages one Seek or snapshot may touch. Default {@link MAX_REPLAY_ENTRIES}. */
  maxReplayEntries?: number;
  /** Where the data is, for errors ("the data directory /x"). */
  where?: string;
  /** Called once if the store fails (kv/fail-safe-kv.ts); it then refuses every write. */
  onFailure?: (failure: StoreFailure) => void;
  /** Longest wait of close for writes in flight (kv/fail-safe-kv.ts). Default 5 s. */
  closeTimeoutMs?: number;
  /**
   * Delay of the deferred write of cursors changed by reads when no other write comes. Default
   * 100 ms. Tests that count a single operation's writes set it out of their way.
   */
  flushAfterMs?: number;
  /**
   * Delay of the background trim after a write released messages (trim.ts); its next steps
   * follow at once while work is left. Default 20 ms. Infinity: only sweepRetention trims
   * (tests that drive the trim step by step).
   */
  trimAfterMs?: number;
  /**
   * Bytes of recent log values all topics keep in memory for delivery (engine/log-tail.ts).
   * Default {@link TAIL_TOTAL_MAX_BYTES}; 0 turns the log tail off.
   */
  logTailMaxBytes?: number;
}

/**
 * The plumbing of the KV store: the in-memory state loaded at open, operations in write
 * transactions, the deferred write of cursors changed by reads, and deliveries ordered behind
 * writes that make messages available again. Internal to the store.
 */
export abstract class KvStoreBase {
  protected closed = false;
  protected readonly state: EngineState;
  protected readonly jobs = new Jobs();
  protected readonly maxReplayEntries: number;
  protected readonly flushAfterMs: number;
  protected formatPending: boolean;
  protected flushTimer: ReturnType<typeof setTimeout> | undefined;
  protected readonly trimAfterMs: number;
  private trimTimer: ReturnType<typeof setTimeout> | undefined;

  protected readonly kv: FailSafeKv;

  constructor(kv: KvEngine, options: KvStoreOptions = {}) {
    const { onFailure, closeTimeoutMs } = options;
    this.kv = new FailSafeKv(kv, {
      ...(onFailure ? { onFailure } : {}),
      ...(closeTimeoutMs ? { closeTimeoutMs } : {}),
    });
    this.maxReplayEntries = options.maxReplayEntries ?? MAX_REPLAY_ENTRIES;
    this.flushAfterMs = options.flushAfterMs ?? FLUSH_AFTER_MS;
    this.trimAfterMs = options.trimAfterMs ?? TRIM_AFTER_MS;
    const where = options.where ?? "the store";
    this.formatPending = kv.read((r) => checkFormat(r, where)) === "fresh";
    this.state = kv.read((r) => loadState(r, Date.now()));
    this.state.tailBudget.maxBytes = options.logTailMaxBytes ?? TAIL_TOTAL_MAX_BYTES;
    kv.read((r) => this.jobs.load(r));
    // Released messages a crash or shutdown left untrimmed: the trim goes on from the stored ranges.
    this.scheduleTrim(this.trimAfterMs);
  }

  protected open(): void {
    if (this.closed) throw new BrokerError("SHUTTING_DOWN", "the store is closed");
  }

  /**
   * Runs an engine operation in a write transaction, all or nothing (the KV engine discards the
   * writes of a callback that throws). A BrokerError the operation throws before it writes is a
   * refusal and passes through; anything else (a commit or sync that failed, an operation that
   * broke midway, whose in-memory changes cannot be undone) puts the store in its failed state,
   * and the call, like every later write, fails with STORE_FAILED (kv/fail-safe-kv.ts).
   */
  protected write<T>(fn: (w: KvWriter) => T, options?: KvWriteOptions): Promise<T> {
    if (this.closed) return Promise.reject(new BrokerError("SHUTTING_DOWN", "the store is closed"));
    return this.kv.write(fn, options).catch((e: unknown) => {
      throw BrokerError.from(e);
    });
  }

  /**
   * An engine operation: its changes, heads and dirty cursors in one transaction. Errors as
   * {@link write}'s. Settles in one promise reaction on the write (the commit → answer path of
   * every Publish and Ack).
   */
  protected op<T>(nowMs: number, fn: (tx: Tx) => T, options?: KvWriteOptions): Promise<T> {
    if (this.closed) return Promise.reject(new BrokerError("SHUTTING_DOWN", "the store is closed"));
    const run = new OpRun(this, this.state, this.formatPending, nowMs, fn);
    return this.kv.write(run.write, options).then(run.committed, run.failed);
  }

  /**
   * @internal What an operation's commit sets off ({@link OpRun}): the store is formatted, and the
   * next trim step is scheduled when released messages wait.
   */
  afterCommit(formatted: boolean): void {
    if (formatted) this.formatPending = false;
    this.scheduleTrim(this.trimAfterMs);
  }

  protected read<T>(fn: (r: KvReader) => T): Promise<T> {
    try {
      this.open();
      return Promise.resolve(this.kv.read(fn));
    } catch (e) {
      return Promise.reject(BrokerError.from(e));
    }
  }

  /** Writes the cursors changed by reads (scan marks, failed attempts) soon, without a sync. */
  protected scheduleFlush(): void {
    if (this.flushTimer || this.closed || this.state.dirtyCursors.size === 0) return;
    // Usually the next ack or publish writes them for free (every write persists dirty cursors);
    // this timer writes them when no write comes. Best effort: a lost mark only lets a delivery
    // attempt repeat after a crash.
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.closed || this.state.dirtyCursors.size === 0) return;
      this.op(NO_CLOCK_MS, () => undefined, { sync: false, deferrable: true }).catch(() => {});
    }, this.flushAfterMs);
    this.flushTimer.unref();
  }

  /**
   * Runs the trim in the background while released messages wait for it (trim.ts): one bounded
   * step per write, not synced (a step lost in a crash is done again: the released ranges it
   * would have shrunk are still stored). Every committed write, the step's own included, schedules
   * the next step `trimAfterMs` later while work is left, so steps are paced, not back to back.
   */
  protected scheduleTrim(delayMs: number): void {
    if (this.trimTimer || this.closed || !this.trimWaiting() || !Number.isFinite(delayMs)) return;
    this.trimTimer = setTimeout(() => {
      this.trimTimer = undefined;
      if (this.closed || !this.trimWaiting()) return;
      // Planned when the write joins its transaction, its keys deleted by the KV engine's write
      // thread in that transaction (trim.ts), with the released messages' id entries
      // (id-deletes.ts); the callback drops the finished ranges and puts back id entries written
      // since the plan.
      let plan: TrimPlan | undefined;
      let ids: IdDeletePlan | undefined;
      const { idDeletes, topicsById } = this.state;
      const deletes = () =>
        this.kv.read((r) => {
          plan = planTrim(r, this.state, new StepBudget(TRIM_STEP_ENTRIES));
          ids = idDeletes.plan(r, plan.keys, topicsById);
          return ids.keys.length === 0 ? plan.keys : plan.keys.concat(ids.keys);
        });
      const step = (tx: Tx) => {
        if (ids) idDeletes.applied(tx.w, ids, topicsById);
        return plan ? applyTrimPlan(tx, plan) : undefined;
      };
      this.op(NO_CLOCK_MS, step, { sync: false, deferrable: true, deletes }).catch(() => {
        if (ids) idDeletes.dropPlan(ids); // a failed store refuses every later write; nothing to retry
      });
    }, delayMs);
    this.trimTimer.unref();
  }

  /** Released messages wait for the trim: their log entries or their id entries (id-deletes.ts). */
  private trimWaiting(): boolean {
    return trimPending(this.state);
  }

  /** The cursor and its topic. */
  protected cursor(name: string): { c: Cursor; t: TopicState } {
    this.open();
    const c = this.state.requireCursor(name);
    return { c, t: this.state.topicOf(c) };
  }

  /** Fails when the cursor was deleted while an operation waited. */
  protected stillThere(c: Cursor): void {
    if (this.state.cursorsById.get(c.id) === c) return;
    throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `subscription "${c.record.name}" does not exist`, {
      metadata: { subscription: c.record.name },
    });
  }

  /**
   * Writes what due work left for a write: dead letters, messages past their TTL, failed
   * attempts. With `sync`, answered once durable (else possibly once committed).
   */
  protected async settleOutgoing(c: Cursor, nowMs: number, sync = false): Promise<void> {
    await this.op(
      nowMs,
      (tx) => {
        if (this.state.cursorsById.get(c.id) !== c) return;
        if (c.outgoing.size > 0) applyOutgoing(tx, this.state.topicOf(c), c);
      },
      { sync },
    );
  }

  /**
   * Runs a write that makes messages of a subscription available again: later deliveries on it
   * wait until it is applied (they would otherwise not see what was given back before them).
   */
  protected releasing<T>(subscription: string, run: () => Promise<T>): Promise<T> {
    const c = this.state.cursors.get(subscription);
    const p = run();
    if (!c) return p;
    const done = p.then(
      () => undefined,
      () => undefined,
    );
    c.barrier = done;
    void done.then(() => {
      if (c.barrier === done) c.barrier = undefined;
    });
    return p;
  }

  /** Applies due work; writes what it cannot do in memory. */
  protected async due(c: Cursor, nowMs: number): Promise<void> {
    if (c.barrier !== undefined) await c.barrier;
    if (processDue(this.state, c, nowMs) || c.outgoing.size > 0) await this.settleOutgoing(c, nowMs);
  }

  /** Writes what reads left to write, then closes the KV engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.trimTimer) clearTimeout(this.trimTimer);
    this.trimTimer = undefined;
    // Scan marks and failed attempts of the last deliveries (what a graceful restart reads).
    if (this.state.dirtyCursors.size > 0) void this.op(NO_CLOCK_MS, () => undefined).catch(() => {});
    this.closed = true;
    // Waits for that write and any other in flight, boundedly: close always ends.
    await this.kv.close();
  }
}
