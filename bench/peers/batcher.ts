/**
 * Turns push-style deliveries (AMQP basic.consume, a NATS pull consumer) into batches: every
 * delivery that arrives in the same event-loop turn, or while the previous batch is still being
 * handled, goes into the next batch (at most `maxBatch`). Batches are handled one at a time, in
 * order, so the handler may ack "everything up to here".
 */
export class DeliveryBatcher<T> {
  private pending: T[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failure: Error | undefined;

  /**
   * @param peer - peer name for error messages
   * @param handle - handles one batch (deliver to the workload, then ack)
   * @param maxBatch - largest batch handed to `handle`
   */
  constructor(
    private readonly peer: string,
    private readonly handle: (items: T[]) => Promise<void>,
    private readonly maxBatch = 1000,
  ) {}

  /** Adds one delivery; it is handled in the next batch. */
  push(item: T): void {
    if (this.stopped || this.failure !== undefined) return;
    this.pending.push(item);
    if (this.running === undefined && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.running === undefined) this.running = this.run();
      });
    }
  }

  /** The first error thrown by the handler, if any (the batcher stops at the first error). */
  get error(): Error | undefined {
    return this.failure;
  }

  private async run(): Promise<void> {
    try {
      while (this.pending.length > 0 && !this.stopped && this.failure === undefined) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          await this.handle(batch);
        } catch (error) {
          this.failure = new Error(
            `${this.peer}: consumer batch failed: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
          console.error(this.failure.message);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Drops undelivered items and waits (at most `timeoutMs`) for the batch being handled to finish.
   * Returns false on timeout.
   */
  async stop(timeoutMs = 10_000): Promise<boolean> {
    this.stopped = true;
    this.pending = [];
    const running = this.running;
    if (running === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([running.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
