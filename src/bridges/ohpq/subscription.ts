import type { ReceivedMessage } from "../../../gen/switchyard/v1/types_pb.js";
import type { BrokerClients } from "../bridge.js";
import { reasonOfAny } from "../bridge.js";
import type { OhpqContext } from "./context.js";
import { isAbsent } from "./errors.js";

/** What a {@link QueueSubscription} needs from its connection. */
export interface SubscriptionHost {
  readonly ctx: OhpqContext;
  /** Resolves when the slot of `queue` is free, or rejects when `signal` aborts. */
  whenSlotFree(queue: string, signal: AbortSignal): Promise<void>;
  /** Hands a message leased by this subscription's stream to the connection (fills the slot). */
  deliver(queue: string, message: ReceivedMessage, stream: QueueSubscription): void;
  /** The stream of `subscription` ended: its leases went back to the queue, forget them. */
  streamEnded(queue: string, stream: QueueSubscription): void;
  /** The broker refused the stream's user (PERMISSION_DENIED, UNAUTHENTICATED): the SUB ends for good. */
  refused(queue: string, stream: QueueSubscription): void;
}

/** Waits after a failed stream: from 250 ms, doubling, at most 30 s. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 30_000;

/**
 * One `SUB <queue>` of a connection: a Subscribe stream of the queue with room for one message
 * (README "Oh, Please Queue" bridge: the next message is pushed only after the ACK of the last). The stream
 * opens only while the connection's slot for the queue is free (a GET may hold it). When the
 * stream ends (disconnect, `stop`, an error), the broker makes what it held available again at
 * once; after an error (the queue was deleted, …) it reopens with a backoff until stopped.
 */
export class QueueSubscription {
  private readonly abort = new AbortController();
  private retryMs = RETRY_MIN_MS;
  private current: AbortController | undefined;

  constructor(
    private readonly host: SubscriptionHost,
    readonly queue: string,
    /** The clients of the login that made this stream (its user's). */
    readonly clients: BrokerClients,
    private readonly leaseMs: number,
  ) {}

  /** Starts delivering (in the background, until {@link stop}). */
  start(): void {
    void this.run();
  }

  /** Ends the stream; what it held goes back to the queue. */
  stop(): void {
    this.abort.abort();
  }

  /** Ends the current stream and opens a new one once the slot is free (it delivered into a full slot). */
  restart(): void {
    this.current?.abort();
  }

  private async run(): Promise<void> {
    const { signal } = this.abort;
    const { ctx } = this.host;
    while (!signal.aborted && !ctx.shutdownSignal.aborted) {
      const stream = new AbortController();
      this.current = stream;
      const onStop = () => stream.abort();
      signal.addEventListener("abort", onStop, { once: true });
      try {
        await this.host.whenSlotFree(this.queue, signal);
        const responses = this.clients.subscriber.subscribe(
          { subscription: this.queue, maxOutstandingMessages: 1, ackDeadlineMs: BigInt(this.leaseMs) },
          { signal: stream.signal },
        );
        for await (const res of responses) {
          this.retryMs = RETRY_MIN_MS;
          for (const m of res.messages) this.host.deliver(this.queue, m, this);
        }
      } catch (e) {
        if (!signal.aborted && !stream.signal.aborted && !ctx.shutdownSignal.aborted) {
          const reason = reasonOfAny(e);
          if (reason === "PERMISSION_DENIED" || reason === "UNAUTHENTICATED") this.host.refused(this.queue, this);
          else await this.failed(e);
        }
      } finally {
        signal.removeEventListener("abort", onStop);
        stream.abort();
        this.host.streamEnded(this.queue, this);
      }
    }
  }

  /** After a stream error: recreate a deleted queue (deleted through another door), then wait before the next try. */
  private async failed(e: unknown): Promise<void> {
    const { ctx } = this.host;
    if (isAbsent(e)) {
      ctx.queues.forget(this.queue);
      await ctx.queues.ensure(this.queue).catch(() => {});
    } else
      ctx.logger.warn("ohpq: a SUB stream failed; reopening", { queue: this.queue, reason: reasonOfAny(e), error: e });
    const wait = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    await new Promise<void>((resolve) => {
      const done = () => {
        ctx.options.clock.clearTimer(timer);
        this.abort.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = ctx.options.clock.setTimer(done, wait);
      this.abort.signal.addEventListener("abort", done, { once: true });
    });
  }
}
