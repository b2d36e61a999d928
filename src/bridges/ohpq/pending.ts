import type { TimerHandle } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { reasonOfAny } from "../bridge.js";
import type { OhpqContext } from "./context.js";
import { isAbsent } from "./errors.js";

/** A message handed to the client and not yet acked: a broker lease held for the connection. */
export interface PendingMessage {
  readonly queue: string;
  readonly ackId: string;
  readonly data: Uint8Array;
  /**
   * `get`: leased by a Pull (the bridge gives it back when the connection ends); `stream`:
   * leased by the connection's SUB stream (the broker gives it back when the stream ends).
   */
  readonly source: "get" | "stream";
  /** The clients that leased it (the user's): renewals, ack and release go through them. */
  readonly clients: BrokerClients;
  /** False while its `MESSAGE` line waits to be written (a push during a command). */
  shown: boolean;
}

interface Slot {
  message: PendingMessage;
  timer: TimerHandle;
}

/** Reasons of a renewal that say the lease is no longer ours. */
const LOST = new Set(["LEASE_EXPIRED", "DELIVERY_UNKNOWN", "INVALID_ACK_ID"]);

/**
 * The pending slots of one connection (README "Oh, Please Queue" bridge, "Pending messages are broker leases"): at most one message per
 * queue. A slot holds its broker lease: with the ack timeout off, it renews the lease every
 * third of `pendingLeaseMs`; with it on, the lease ends at the timeout and the slot empties (the
 * broker delivers the message again). `onFree` runs whenever a slot empties.
 */
export class PendingSlots {
  private readonly slots = new Map<string, Slot>();
  /** Set by {@link releaseAll}: the connection is gone, a late GET's lease goes straight back. */
  private closed = false;

  constructor(
    private readonly ctx: OhpqContext,
    private readonly onFree: (queue: string, message: PendingMessage) => void,
  ) {}

  /** How long the broker should lease a message that becomes pending, in ms. */
  get leaseMs(): number {
    const o = this.ctx.options;
    return o.ackTimeoutMs > 0 ? o.ackTimeoutMs : o.pendingLeaseMs;
  }

  /** Slots filled now (GET's and SUB's). */
  get size(): number {
    return this.slots.size;
  }

  /** Slots filled by GET now (SUB's are bounded by the connection's SUBs). */
  heldByGet(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.message.source === "get") n++;
    return n;
  }

  /** The pending message of `queue`, if any. */
  get(queue: string): PendingMessage | undefined {
    return this.slots.get(queue)?.message;
  }

  /** Fills the (empty) slot of `message.queue`. */
  put(message: PendingMessage): void {
    if (this.closed) {
      void this.giveBack([message]);
      return;
    }
    const o = this.ctx.options;
    const timer =
      o.ackTimeoutMs > 0 ? o.clock.setTimer(() => this.drop(message), o.ackTimeoutMs) : this.renewLater(message);
    this.slots.set(message.queue, { message, timer });
  }

  /** Empties the slot of `queue` (ACK) and returns what it held. `onFree` runs. */
  take(queue: string): PendingMessage | undefined {
    const slot = this.slots.get(queue);
    if (!slot) return undefined;
    this.drop(slot.message);
    return slot.message;
  }

  /** Empties the slot if it still holds `message`; `onFree` runs. */
  drop(message: PendingMessage): void {
    const slot = this.slots.get(message.queue);
    if (slot?.message !== message) return;
    this.ctx.options.clock.clearTimer(slot.timer);
    this.slots.delete(message.queue);
    this.onFree(message.queue, message);
  }

  /**
   * Empties every slot without `onFree` (the connection ended) and gives the messages leased by
   * GET back to their queues at once; a SUB stream's messages go back when the stream ends.
   */
  async releaseAll(): Promise<void> {
    this.closed = true;
    await this.giveBackAll();
  }

  /**
   * Empties every slot without `onFree` and gives the messages leased by GET back to their queues
   * at once (a new login: nothing leased under the old one stays pending); a SUB stream's
   * messages go back when the stream ends.
   */
  async giveBackAll(): Promise<void> {
    const held = [...this.slots.values()];
    this.slots.clear();
    for (const slot of held) this.ctx.options.clock.clearTimer(slot.timer);
    await this.giveBack(held.map((s) => s.message));
  }

  /** Makes the GET-leased ones of `messages` available again at once (a stream's go back with it). */
  private async giveBack(messages: readonly PendingMessage[]): Promise<void> {
    await Promise.all(
      messages
        .filter((m) => m.source === "get")
        .map(async (m) => {
          try {
            await m.clients.subscriber.modifyAckDeadline({
              subscription: m.queue,
              ackIds: [m.ackId],
              ackDeadlineMs: 0n,
            });
          } catch (e) {
            // Its lease still ends on its own (pendingLeaseMs or the ack timeout): delayed, not lost.
            if (!LOST.has(reasonOfAny(e) ?? "") && !isAbsent(e))
              this.ctx.logger.warn("ohpq: could not give a pending message back", { queue: m.queue, error: e });
          }
        }),
    );
  }

  private renewLater(message: PendingMessage): TimerHandle {
    const every = Math.max(1, Math.floor(this.ctx.options.pendingLeaseMs / 3));
    return this.ctx.options.clock.setTimer(() => void this.renew(message), every);
  }

  private async renew(message: PendingMessage): Promise<void> {
    const slot = this.slots.get(message.queue);
    if (slot?.message !== message) return;
    try {
      await message.clients.subscriber.modifyAckDeadline({
        subscription: message.queue,
        ackIds: [message.ackId],
        ackDeadlineMs: BigInt(this.ctx.options.pendingLeaseMs),
      });
    } catch (e) {
      if (LOST.has(reasonOfAny(e) ?? "") || isAbsent(e)) {
        this.ctx.logger.warn("ohpq: a pending message's lease was lost", { queue: message.queue, error: e });
        this.drop(message);
        return;
      }
      if (this.ctx.shutdownSignal.aborted) return;
      this.ctx.logger.warn("ohpq: could not renew a pending message's lease; will retry", { error: e });
    }
    const current = this.slots.get(message.queue);
    if (current?.message === message) current.timer = this.renewLater(message);
  }
}
