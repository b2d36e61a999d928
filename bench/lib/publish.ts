/**
 * Client-side publishing the way the Pub/Sub client libraries do it: a window of unconfirmed messages
 * (backpressure), and batches that are flushed at N messages, at a byte limit, or after a linger time.
 * With `maxMessages: 1` every message is its own Publish call.
 */
import type { BenchPublisher } from "../targets/target.js";

/** How a {@link BatchingPublisher} batches. */
export interface BatchOptions {
  /** Flush when a batch has this many messages (1: one message per Publish call). */
  maxMessages: number;
  /** Flush when a batch has this many payload bytes. */
  maxBytes: number;
  /** Flush a non-empty batch this long after its first message, in ms. */
  lingerMs: number;
  /** Most messages queued or published but not yet confirmed. */
  maxInFlightMessages: number;
}

/** Called once per message: `latencyMs` from admission to confirmation, or the error. */
export type OnConfirm = (latencyMs: number, error?: unknown) => void;

interface Pending {
  payload: Uint8Array;
  admittedMs: number;
  onConfirm: OnConfirm | undefined;
}

/** Batches payloads onto one {@link BenchPublisher} under a window of unconfirmed messages. */
export class BatchingPublisher {
  readonly #publisher: BenchPublisher;
  readonly #options: BatchOptions;
  #batch: Pending[] = [];
  #batchBytes = 0;
  #timer: NodeJS.Timeout | undefined;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #idle: Array<() => void> = [];
  #error: unknown;
  /** Publish calls made so far. */
  calls = 0;

  constructor(publisher: BenchPublisher, options: BatchOptions) {
    this.#publisher = publisher;
    this.#options = options;
  }

  /** Messages admitted but not yet confirmed. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Queues `payload`; resolves once the window admits it (not when it is confirmed: `onConfirm`
   * tells that). Rejects if an earlier publish failed.
   */
  async send(payload: Uint8Array, onConfirm?: OnConfirm): Promise<void> {
    while (this.#inFlight >= this.#options.maxInFlightMessages && this.#error === undefined) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#error !== undefined) throw this.#error;
    this.#inFlight++;
    this.#batch.push({ payload, admittedMs: performance.now(), onConfirm });
    this.#batchBytes += payload.byteLength;
    if (this.#batch.length >= this.#options.maxMessages || this.#batchBytes >= this.#options.maxBytes) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), this.#options.lingerMs);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#batchBytes = 0;
    this.calls++;
    const settle = (error?: unknown) => {
      const now = performance.now();
      if (error !== undefined) this.#error ??= error;
      for (const m of batch) m.onConfirm?.(now - m.admittedMs, error);
      this.#inFlight -= batch.length;
      for (const wake of this.#waiters.splice(0)) wake();
      if (this.#inFlight === 0) for (const done of this.#idle.splice(0)) done();
    };
    this.#publisher.publish(batch.map((m) => m.payload)).then(() => settle(), settle);
  }

  /** Publishes what is queued and resolves when every admitted message is confirmed; rejects on a failure. */
  async flush(): Promise<void> {
    this.#flush();
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    if (this.#error !== undefined) throw this.#error;
  }
}
