/**
 * When a write goes to the engine: at once, or held to share a later transaction (group commit
 * and commit delay). A synced transaction costs about the same CPU and disk work whatever it holds
 * (pages written, fdatasync, hand-offs between threads), so at moderate rates the number of
 * transactions, not the writes in them, is what the broker pays for (BENCHMARKS.md, "W3").
 * Engine-neutral: the engine says how it submits a write and when its batches start and settle.
 */

/** Settings of a {@link CommitQueue}. */
export interface CommitQueueOptions {
  /** Batches handed to the engine at once; later writes wait for one to settle. */
  maxBatchesInFlight: number;
  /**
   * Longest hold of a deferrable write (an Ack, a background write) while Publishes come often,
   * waiting for the next one to share its transaction. 0: never held for that.
   */
  deferrableDelayMs: number;
  /**
   * Longest hold of any other write (a Publish) that finds no batch in flight while such writes
   * come often, so that the writes right behind it share its transaction (PostgreSQL's
   * commit_delay). 0: never.
   */
  commitDelayMs: number;
}

/**
 * Commit-delay holds in a row that ended with no other write joining them, after which Publishes
 * stop being held. A client that waits for each answer before its next Publish (one call in
 * flight) never has company to wait for: each hold only added the whole delay to its answer.
 */
export const LONELY_HOLDS_TO_STOP = 2;

/** The batch forming in one event turn: how many of its writes have not settled yet. */
export interface Batch {
  unsettled: number;
}

/**
 * Decides, for each write, whether it goes now or waits, and keeps the order: held writes go
 * together, in the order called, before any write called after them. A write is held for a delay
 * only while writes that are not deferrable (Publishes) come often: one came within twice the
 * delay, so the held write most likely has company within it. So on an idle store every write
 * goes at once, and so does a stream of deferrable writes alone (Acks of a drain, which group
 * commit already batches while two transactions are in flight). And the commit delay stops after
 * {@link LONELY_HOLDS_TO_STOP} holds in a row that got no company (a client that sends its next
 * Publish only after this one's answer), until a write comes while another is held or in flight,
 * or a deferrable write (an Ack) comes.
 */
export class CommitQueue {
  private held: HeldWrite[] = [];
  /** The held writes go when a batch settles (their delay is over, or they only wait for room). */
  private heldUrgent = false;
  private holdTimer: ReturnType<typeof setTimeout> | undefined;
  private holdDeadline = Number.POSITIVE_INFINITY;
  private inFlight = 0;
  /** When the last write that is not deferrable was scheduled: how often such writes come. */
  private lastUrgentAt = Number.NEGATIVE_INFINITY;
  /** Commit-delay holds in a row that were released with no other write (see {@link LONELY_HOLDS_TO_STOP}). */
  private lonelyHolds = 0;
  /** The held writes began with a commit-delay hold (not a deferrable one, nor the in-flight limit). */
  private heldForCompany = false;
  /** The batch of this event turn while the engine still takes writes into it. */
  private current: Batch | undefined;
  /** Batches started since creation (diagnostics, tests). */
  batches = 0;

  constructor(private readonly options: CommitQueueOptions) {}

  /**
   * Runs `submit` now or later. `submit` hands the write to the engine, which calls
   * {@link joinBatch} and, once the write settles, {@link leaveBatch}.
   */
  schedule<T>(submit: () => Promise<T>, deferrable: boolean): Promise<T> {
    const { deferrableDelayMs, commitDelayMs, maxBatchesInFlight } = this.options;
    const now = performance.now();
    // Writes overlap (another is held or in flight), or Acks come (they share Publishes'
    // transactions): holding may find company again.
    if (deferrable || this.inFlight > 0 || this.held.length > 0) this.lonelyHolds = 0;
    // Only with no batch in flight: a busier store already shares transactions behind the
    // in-flight limit, and a delay there would only slow its pipeline.
    const frequent =
      !deferrable &&
      this.inFlight === 0 &&
      this.lonelyHolds < LONELY_HOLDS_TO_STOP &&
      this.frequent(now, commitDelayMs);
    if (!deferrable) this.lastUrgentAt = now;
    if (this.current !== undefined) return submit();
    if (deferrable && this.frequent(now, deferrableDelayMs)) return this.hold(submit, now + deferrableDelayMs);
    if (this.inFlight >= maxBatchesInFlight) {
      this.heldUrgent = true;
      return this.hold(submit, Number.POSITIVE_INFINITY);
    }
    if (frequent) {
      if (this.held.length === 0) this.heldForCompany = true;
      return this.hold(submit, now + commitDelayMs);
    }
    if (this.held.length === 0) return submit();
    // Behind the held writes, and answered the same way, so answers keep the call order.
    const run = this.hold(submit, Number.POSITIVE_INFINITY);
    this.release();
    return run;
  }

  /** Called by the engine for each write it submits: the batch of this turn (started if none). */
  joinBatch(startTurn: (end: () => void) => void): Batch {
    if (this.current === undefined) {
      const batch: Batch = { unsettled: 0 };
      this.current = batch;
      this.inFlight++;
      this.batches++;
      startTurn(() => {
        if (this.current === batch) this.current = undefined;
      });
    }
    this.current.unsettled++;
    return this.current;
  }

  /** Called by the engine when a write of `batch` has settled (committed and synced, or failed). */
  leaveBatch(batch: Batch): void {
    if (--batch.unsettled > 0) return;
    this.inFlight--;
    // Writes held for a delay keep waiting for company, or for the delay to end.
    if (this.heldUrgent) this.release();
  }

  /**
   * The engine failed to commit: every held write is rejected with `error` instead of being
   * handed to an engine that can no longer sync it (the store is failed from here on).
   */
  fail(error: unknown): void {
    const held = this.held;
    this.held = [];
    this.clearHold();
    for (const w of held) w.reject(error);
  }

  /** Submits every held write now (the engine is closing), unless too many batches are in flight. */
  flush(): void {
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.endHold();
  }

  /** Did a write that is not deferrable come within twice the delay? Then another likely comes within it. */
  private frequent(now: number, delayMs: number): boolean {
    return delayMs > 0 && now - this.lastUrgentAt < 2 * delayMs;
  }

  private hold<T>(submit: () => Promise<T>, deadline: number): Promise<T> {
    const run = new Promise<T>((resolve, reject) =>
      this.held.push({ submit: () => submit().then(resolve, reject), reject }),
    );
    if (deadline < this.holdDeadline) {
      if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
      this.holdDeadline = deadline;
      this.holdTimer = setTimeout(this.endHold, Math.max(0, deadline - performance.now()));
    }
    return run;
  }

  /** The delay is over: held writes go now, or when a batch settles if too many are in flight. */
  private readonly endHold = (): void => {
    this.holdTimer = undefined;
    this.holdDeadline = Number.POSITIVE_INFINITY;
    if (this.inFlight < this.options.maxBatchesInFlight) this.release();
    // Too many in flight: they go when one settles, whatever later holds start.
    else this.heldUrgent = this.held.length > 0;
  };

  /** Submits the held writes synchronously, in order: they form one batch. */
  private release(): void {
    const held = this.held;
    if (held.length === 0) return;
    if (this.heldForCompany) this.lonelyHolds = held.length === 1 ? this.lonelyHolds + 1 : 0;
    this.held = [];
    this.clearHold(); // (also ends heldForCompany)
    for (const w of held) w.submit();
  }

  private clearHold(): void {
    this.heldForCompany = false;
    this.heldUrgent = false;
    if (this.holdTimer !== undefined) clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.holdDeadline = Number.POSITIVE_INFINITY;
  }
}

/** A write waiting in the queue: how to hand it to the engine, or to refuse it. */
interface HeldWrite {
  submit(): void;
  reject(error: unknown): void;
}
