import type { BrokerClients } from "../../bridge.js";

/** One element as live consumers get it. */
export interface LiveElement {
  readonly key: string;
  /** The JSON object RestMQ wrote for it, `{"key": …, "value": …}`, already encoded. */
  readonly json: string;
}

/** Bounds of one live consumer's output, in bytes. */
export interface ConsumerBounds {
  /** Below this many unflushed bytes a consumer is ready for more (the dispatcher pulls only for ready ones). */
  readonly highWaterBytes: number;
  /**
   * Most unflushed bytes a consumer that is behind may hold: an element that would take it past
   * this drops it as too slow. A consumer that was ready when a dispatch batch began takes the
   * whole batch, so it holds at most the high-water mark plus one batch, or this bound plus one
   * element, whichever is more.
   */
  readonly maxBufferedBytes: number;
}

/** Why a consumer ended. */
export type EndReason = "purged" | "shutdown" | "slow" | "denied" | "gone";

/**
 * A comet or websocket consumer of one queue. Output is counted from `write` until the transport
 * reports the bytes flushed to the socket, so a consumer that stops reading is seen at once and
 * holds at most {@link ConsumerBounds.maxBufferedBytes}.
 */
export abstract class LiveConsumer {
  private pending = 0;
  private ended = false;
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  private readonly roomListeners = new Set<() => void>();

  constructor(
    /** The queue it consumes. */
    readonly queue: string,
    /** The clients its broker calls go through (the connection's principal, once auth is on). */
    readonly clients: BrokerClients,
    protected readonly bounds: ConsumerBounds,
  ) {}

  /** Unflushed output bytes. */
  pendingBytes(): number {
    return this.pending;
  }

  /** True while it can take more without waiting (below the high-water mark). */
  ready(): boolean {
    return !this.ended && this.pending < this.bounds.highWaterBytes;
  }

  /** True once it has ended (for any reason). */
  isEnded(): boolean {
    return this.ended;
  }

  /**
   * Sends one element. `readyAtBatchStart` says the consumer was ready when the dispatch batch
   * began: it then takes every element of the batch. Otherwise an element that would take its
   * buffer past the bound ends it as too slow (answers false); false too when it has ended.
   */
  send(element: LiveElement, readyAtBatchStart: boolean): boolean {
    const frame = this.frame(element);
    const flushed = this.reserve(Buffer.byteLength(frame), readyAtBatchStart);
    if (!flushed) return false;
    this.transmit(frame, flushed);
    return true;
  }

  /** Ends it: after DELETE (RestMQ's last `null`), at shutdown, as too slow, or because the client went. */
  end(reason: EndReason): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.close(reason);
    } finally {
      for (const listener of this.endListeners) listener(reason);
      this.endListeners.clear();
      this.roomListeners.clear();
    }
  }

  /** Calls `listener` once when it ends. */
  onEnd(listener: (reason: EndReason) => void): void {
    if (this.ended) return;
    this.endListeners.add(listener);
  }

  /** Calls `listener` whenever flushed output brings it back below the high-water mark. */
  onRoom(listener: () => void): void {
    this.roomListeners.add(listener);
  }

  /**
   * Counts `size` more output bytes, or (unless `admitted`) ends the consumer as too slow when
   * they would take a non-empty buffer past the bound, and then answers undefined. The returned
   * function uncounts them; call it once the transport has flushed (or dropped) them.
   */
  protected reserve(size: number, admitted = false): (() => void) | undefined {
    if (this.ended) return undefined;
    if (!admitted && this.pending > 0 && this.pending + size > this.bounds.maxBufferedBytes) {
      this.end("slow");
      return undefined;
    }
    this.pending += size;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const wasReady = this.pending < this.bounds.highWaterBytes;
      this.pending -= size;
      if (!wasReady && this.ready()) for (const listener of this.roomListeners) listener();
    };
  }

  /** The bytes one element takes on this transport. */
  protected abstract frame(element: LiveElement): string;
  /** Writes a frame; calls `flushed` once its bytes are flushed to the socket (or dropped). */
  protected abstract transmit(frame: string, flushed: () => void): void;
  /** Closes the transport for `reason`. */
  protected abstract close(reason: EndReason): void;
}
