import { HttpError } from "./http-io.js";

/** How long an operation waits for its queue before it is answered 503 (a broker call that hangs). */
const DEFAULT_WAIT_MS = 30_000;

/**
 * One operation at a time per queue, within this bridge: the reads that lease for a moment
 * (`get` gives its lease back at once, GET /q and `take` ack it), the live dispatcher's Pull and
 * DELETE's purge. So no request of the bridge finds the oldest element hidden by another's
 * lease, and `get` never answers "empty queue" because a concurrent `get` held the element.
 * Other doors (Connect, RESP) are not serialised with these; docs/restmq.md states that race.
 * Holds one promise per busy queue and nothing for idle ones.
 */
export class QueueLocks {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly maxWaitMs = DEFAULT_WAIT_MS) {}

  /** Queues with an operation running or waiting (for tests). */
  busy(): number {
    return this.tails.size;
  }

  /**
   * Runs `operation` once every earlier operation on `queue` has finished. Waiting longer than
   * the bound throws {@link HttpError} 503 (the operation does not run).
   */
  async run<T>(queue: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(queue);
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The next operation waits for this one and, through it, for every earlier one.
    const tail = previous !== undefined ? previous.then(() => mine) : mine;
    this.tails.set(queue, tail);
    // Forgotten once it and everything before it are done (not when a waiter gives up early).
    void tail.then(() => {
      if (this.tails.get(queue) === tail) this.tails.delete(queue);
    });
    try {
      if (previous !== undefined) await this.waitFor(previous);
      return await operation();
    } finally {
      release();
    }
  }

  private async waitFor(previous: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.maxWaitMs);
    });
    try {
      if ((await Promise.race([previous, timedOut])) === "timeout") throw new HttpError(503, "queue busy");
    } finally {
      clearTimeout(timer);
    }
  }
}
