/**
 * Leased push messages waiting to be sent, and the ordering-key rule of an `ordered` push
 * subscription: at most one request in flight per ordering key, and what follows a failed
 * message of a key waits for it (README "Push subscriptions (webhooks)": `max_in_flight`).
 *
 * @module
 */
import type { Delivery } from "../core/index.js";

/** A leased delivery, with the time its lease ends. */
export interface Held {
  /** The leased message. */
  delivery: Delivery;
  /** When its lease ends, on the worker's clock. */
  leasedUntilMs: number;
}

/** A message taken to be sent, with the ordering key it holds until {@link ReadyQueue.keyDone}. */
export interface Taken {
  /** The message to send. */
  held: Held;
  /** The ordering key it holds busy; undefined when it need not wait for any. */
  key: string | undefined;
}

/**
 * The ready list of one push worker, in lease order. `keyOf` gives the ordering key that
 * serializes a delivery (undefined when none); it is asked each time, so a settings update
 * applies at once.
 */
export class ReadyQueue {
  private readonly held: Held[] = [];
  private readonly busyKeys = new Set<string>();

  constructor(private readonly keyOf: (delivery: Delivery) => string | undefined) {}

  /** Messages waiting. */
  get length(): number {
    return this.held.length;
  }

  /** Adds a leased message at the end. */
  push(held: Held): void {
    this.held.push(held);
  }

  /** Takes the first message whose ordering key is free and marks its key busy; undefined when none may go. */
  takeNext(): Taken | undefined {
    for (let i = 0; i < this.held.length; i++) {
      const held = this.held[i] as Held;
      const key = this.keyOf(held.delivery);
      if (key !== undefined && this.busyKeys.has(key)) continue;
      this.held.splice(i, 1);
      if (key !== undefined) this.busyKeys.add(key);
      return { held, key };
    }
    return undefined;
  }

  /** Frees the ordering key of a message that was taken, once its request is over. */
  keyDone(key: string | undefined): void {
    if (key !== undefined) this.busyKeys.delete(key);
  }

  /** Takes out the waiting messages of the delivery's ordering key (they must wait for it); their ack ids. */
  takeKeyOf(delivery: Delivery): string[] {
    const key = this.keyOf(delivery);
    const behind: string[] = [];
    if (key === undefined) return behind;
    for (let i = this.held.length - 1; i >= 0; i--) {
      const h = this.held[i] as Held;
      if (this.keyOf(h.delivery) === key) {
        behind.unshift(h.delivery.ackId);
        this.held.splice(i, 1);
      }
    }
    return behind;
  }

  /** Takes out every waiting message; their ack ids. */
  takeAll(): string[] {
    return this.held.splice(0).map((h) => h.delivery.ackId);
  }
}
