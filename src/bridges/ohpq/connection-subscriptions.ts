import type { ReceivedMessage } from "../../../gen/switchyard/v1/types_pb.js";
import type { BrokerClients } from "../bridge.js";
import type { OhpqContext } from "./context.js";
import type { PendingMessage, PendingSlots } from "./pending.js";
import { QueueSubscription, type SubscriptionHost } from "./subscription.js";
import { messageLine } from "./text-format.js";

/** What {@link ConnectionSubscriptions} needs from its connection. */
export interface SubscriptionsOwner {
  /** The clients acting as the connection's user now. */
  clients(): BrokerClients | undefined;
  /** True once the connection is ending. */
  ending(): boolean;
  /** A push is ready to be written (see {@link ConnectionSubscriptions.takePushes}). */
  wake(): void;
}

/**
 * The SUBs of one connection and the messages their streams push: each delivery fills the
 * queue's pending slot and waits in an outbox until the connection writes it between two
 * replies. Streams open only while their slot is free; a delivery that finds its slot still
 * full (the broker took the ACK of the last message and leased the next before the ACK's reply
 * was back) waits in a stash of one per queue until the slot empties.
 */
export class ConnectionSubscriptions implements SubscriptionHost {
  private readonly subs = new Map<string, QueueSubscription>();
  /** SUBs of the command executing; their streams start once its reply is written. */
  private readonly toStart: QueueSubscription[] = [];
  private readonly outbox: PendingMessage[] = [];
  private readonly stash = new Map<string, ReceivedMessage>();
  private readonly slotWaiters = new Map<string, Set<() => void>>();

  constructor(
    readonly ctx: OhpqContext,
    private readonly pending: PendingSlots,
    private readonly owner: SubscriptionsOwner,
  ) {}

  /** SUBs of the connection. */
  get size(): number {
    return this.subs.size;
  }

  has(queue: string): boolean {
    return this.subs.has(queue);
  }

  /** Adds a SUB; its stream starts at the next {@link startAdded}. */
  add(queue: string, clients = this.owner.clients() as BrokerClients): void {
    const sub = new QueueSubscription(this, queue, clients, this.pending.leaseMs);
    this.subs.set(queue, sub);
    this.toStart.push(sub);
  }

  /**
   * A new login: every SUB's stream ends (the broker takes back what it holds, and its pushed
   * messages are no longer pending) and a new one, acting as `clients`, starts at the next
   * {@link startAdded}. Pushes of the old streams not yet written are dropped.
   */
  reopenAll(clients: BrokerClients): void {
    const queues = [...this.subs.keys()];
    this.stopAll();
    for (const queue of queues) {
      const held = this.pending.get(queue);
      if (held?.source === "stream") this.pending.drop(held);
      this.add(queue, clients);
    }
  }

  /** Starts the streams of the SUBs added since the last call (their `OK subscribed` is written). */
  startAdded(): void {
    for (const sub of this.toStart.splice(0)) if (this.subs.get(sub.queue) === sub) sub.start();
  }

  /** True when pushed messages wait to be written. */
  get hasPushes(): boolean {
    return this.outbox.length > 0;
  }

  /** The `MESSAGE` lines of pushed messages still pending and not yet shown (a GET may have shown one). */
  takePushes(): Buffer {
    const out: Buffer[] = [];
    for (const m of this.outbox.splice(0)) {
      if (m.shown || this.pending.get(m.queue) !== m) continue;
      m.shown = true;
      out.push(messageLine(m.queue, m.data));
    }
    return Buffer.concat(out);
  }

  /** The slot of `queue` emptied: a stashed delivery moves in, or a waiting stream may open. */
  slotFreed(queue: string): void {
    const next = this.stash.get(queue);
    const sub = this.subs.get(queue);
    if (next !== undefined && sub !== undefined && !this.owner.ending()) {
      this.stash.delete(queue);
      this.show(queue, next, sub.clients);
      return;
    }
    const waiters = this.slotWaiters.get(queue);
    if (!waiters) return;
    this.slotWaiters.delete(queue);
    for (const wake of waiters) wake();
  }

  /** Stops every stream (the broker takes back what they held) and forgets queued pushes. */
  stopAll(): void {
    for (const sub of this.subs.values()) sub.stop();
    this.subs.clear();
    this.toStart.length = 0;
    this.outbox.length = 0;
    this.stash.clear();
  }

  whenSlotFree(queue: string, signal: AbortSignal): Promise<void> {
    if (!this.pending.get(queue)) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let set = this.slotWaiters.get(queue);
      if (!set) {
        set = new Set();
        this.slotWaiters.set(queue, set);
      }
      const onAbort = () => {
        this.slotWaiters.get(queue)?.delete(wake);
        reject(signal.reason);
      };
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      set.add(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  deliver(queue: string, m: ReceivedMessage, stream: QueueSubscription): void {
    // The connection or the stream is stopping (or replaced after a new login): the broker takes it back.
    if (this.owner.ending() || !m.message || this.subs.get(queue) !== stream) return;
    if (!this.pending.get(queue)) {
      this.show(queue, m, stream.clients);
      return;
    }
    if (!this.stash.has(queue)) {
      this.stash.set(queue, m);
      return;
    }
    // Never expected (a stream holds one message at a time): start over from the broker's view.
    this.ctx.logger.warn("ohpq: a SUB stream delivered into a full slot; reopening it", { queue });
    this.stash.delete(queue);
    stream.restart();
  }

  streamEnded(queue: string, stream: QueueSubscription): void {
    if (this.subs.get(queue) !== stream) return; // stopped and replaced: what it held is not the connection's now
    this.stash.delete(queue);
    const held = this.pending.get(queue);
    if (held?.source === "stream") this.pending.drop(held);
  }

  refused(queue: string, stream: QueueSubscription): void {
    if (this.subs.get(queue) !== stream) return;
    this.ctx.logger.info("ohpq: a SUB ended: its user may not read the queue", { queue });
    stream.stop();
    this.subs.delete(queue);
    this.stash.delete(queue);
    const held = this.pending.get(queue);
    if (held?.source === "stream") this.pending.drop(held);
  }

  /** Makes a stream's message pending (held by the stream's `clients`) and queues its `MESSAGE` line. */
  private show(queue: string, m: ReceivedMessage, clients: BrokerClients): void {
    if (!m.message) return;
    const held: PendingMessage = {
      queue,
      ackId: m.ackId,
      data: m.message.data,
      source: "stream",
      clients,
      shown: false,
    };
    this.pending.put(held);
    this.outbox.push(held);
    this.owner.wake();
  }
}
