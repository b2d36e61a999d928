import { reasonOf } from "../../bridge.js";
import type { LiveConsumer } from "./consumer.js";
import { type DispatchEnv, QueueDispatcher } from "./dispatcher.js";

/** A place for one live consumer, taken before its checks run (so the cap holds), then used or given back. */
export interface Reservation {
  /** Attaches the consumer in the reserved place. */
  attach(consumer: LiveConsumer): void;
  /** Gives the place back (no-op once attached or released). */
  release(): void;
}

/** Options of {@link Presence}. */
export interface PresenceOptions {
  /** Most live consumers at once (comet and websocket together), reserved places included. */
  readonly maxConsumers: number;
  /**
   * How often each consumer's right to read its queue is checked again with its own clients
   * (RestMQ re-read its ACL file every 60 s). Consumers using the bridge's own clients (auth off)
   * are not checked. Default 60 s.
   */
  readonly accessRecheckMs?: number;
}

/** Reasons with which the broker refuses a user (the consumer is ended as "denied"). */
const REFUSED = new Set(["PERMISSION_DENIED", "UNAUTHENTICATED"]);

/**
 * The live consumers of every queue (RestMQ's `presence` map) and one dispatcher per queue that
 * has any. The bridge's only state beside policy and start/stop: live connections.
 */
export class Presence {
  private readonly dispatchers = new Map<string, QueueDispatcher>();
  private attached = 0;
  private reserved = 0;
  private recheckTimer: NodeJS.Timeout | undefined;
  private rechecking = false;

  constructor(
    private readonly env: DispatchEnv,
    private readonly options: PresenceOptions,
  ) {
    env.settings.onChange((queue) => this.dispatchers.get(queue)?.settingsChanged());
  }

  /** Live consumers attached now. */
  size(): number {
    return this.attached;
  }

  /**
   * Takes a place for one more consumer, or answers undefined when every place is taken or
   * reserved. Reserve before any await of the consumer's checks, so concurrent requests cannot
   * overshoot the cap.
   */
  reserve(): Reservation | undefined {
    if (this.attached + this.reserved >= this.options.maxConsumers) return undefined;
    this.reserved++;
    let held = true;
    const giveBack = () => {
      if (!held) return false;
      held = false;
      this.reserved--;
      return true;
    };
    return {
      attach: (consumer) => {
        if (giveBack()) this.attach(consumer);
        else consumer.end("gone"); // released meanwhile: never counted, never fed
      },
      release: () => {
        giveBack();
      },
    };
  }

  /** The bridge created `queue`: consumers waiting for it are fed at once. */
  queueCreated(queue: string): void {
    this.dispatchers.get(queue)?.wake();
  }

  /** Ends every live consumer of `queue` (DELETE /q: comet gets a last `null`). */
  endQueue(queue: string): void {
    this.dispatchers.get(queue)?.endAll("purged");
  }

  /**
   * Checks every consumer's right to read its queue with its own clients (a Peek as its user,
   * which answers whether the broker lets that user read the queue) and ends, as "denied", those
   * the broker now refuses. Runs every `accessRecheckMs` while consumers of other users exist.
   */
  async recheckAccess(): Promise<void> {
    if (this.rechecking) return;
    this.rechecking = true;
    try {
      for (const d of [...this.dispatchers.values()]) {
        for (const c of d.list()) {
          if (c.isEnded() || c.clients === this.env.clients) continue;
          try {
            await c.clients.subscriber.peek({ subscription: c.queue, maxMessages: 1 });
          } catch (e) {
            const reason = reasonOf(e);
            if (reason !== undefined && REFUSED.has(reason)) c.end("denied");
          }
        }
      }
    } finally {
      this.rechecking = false;
    }
  }

  /** Ends every live consumer (shutdown) and waits, up to `timeoutMs`, for the dispatchers to stop. */
  async closeAll(timeoutMs: number): Promise<void> {
    clearInterval(this.recheckTimer);
    this.recheckTimer = undefined;
    const all = [...this.dispatchers.values()];
    for (const d of all) d.endAll("shutdown");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(all.map((d) => d.stopped())),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private attach(consumer: LiveConsumer): void {
    if (this.env.shutdownSignal.aborted) {
      consumer.end("shutdown");
      return;
    }
    let d = this.dispatchers.get(consumer.queue);
    if (!d) {
      d = new QueueDispatcher(consumer.queue, this.env, (idle) => {
        if (this.dispatchers.get(idle.queue) === idle && idle.size() === 0) this.dispatchers.delete(idle.queue);
      });
      this.dispatchers.set(consumer.queue, d);
    }
    this.attached++;
    consumer.onEnd(() => {
      this.attached--;
    });
    if (consumer.clients !== this.env.clients) this.startRechecks();
    d.add(consumer);
  }

  private startRechecks(): void {
    if (this.recheckTimer) return;
    this.recheckTimer = setInterval(() => {
      if (this.attached === 0) {
        clearInterval(this.recheckTimer);
        this.recheckTimer = undefined;
        return;
      }
      this.recheckAccess().catch(() => {});
    }, this.options.accessRecheckMs ?? 60_000);
    this.recheckTimer.unref();
  }
}
