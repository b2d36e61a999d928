import { randomUUID } from "node:crypto";
import type { Delivery } from "../model/index.js";
import type { Clock } from "../util/index.js";
import type { CoreContext } from "./context.js";
import { messageSize } from "./validate.js";

/** Responses a full window is split into at least ({@link Outstanding.maxPerResponse}). */
const RESPONSES_PER_WINDOW = 4;

/** A lease deadline the entries of one {@link Outstanding.add} (or one extend) share. */
interface Deadline {
  readonly ms: number;
}

/** What a free slot points at: no deadline, so nothing is released through it. */
const NO_DEADLINE: Deadline = { ms: Number.POSITIVE_INFINITY };

/**
 * The flow-control window of one Subscribe stream: what it holds (leased, not yet acked,
 * nacked or expired) and how much more it may take. Settles on the stream's ack ids free room
 * through {@link releaseOutstanding}, which wakes the stream on its own notifier channel.
 * Internal to the core.
 *
 * Each held ack id has a slot: its index in three arrays (bytes, deadline, message id), reused
 * once freed, so holding a message costs a map entry and no object of its own (a window holds
 * up to thousands, added and dropped once per delivered message; the entries of one add share
 * one deadline object).
 */
export class Outstanding {
  /** The notifier channel that wakes this stream when room frees up (never a valid topic name). */
  readonly channel = `\u0000stream:${randomUUID()}`;
  /** Held ack id → its slot. */
  private readonly slots = new Map<string, number>();
  private readonly slotBytes: number[] = [];
  private readonly slotDeadline: Deadline[] = [];
  private readonly slotMessageId: string[] = [];
  /** Slots free for reuse. */
  private readonly free: number[] = [];
  private bytes = 0;
  private earliestMs = Number.POSITIVE_INFINITY;
  /** The largest message this stream has seen, to size leases when bytes may bind. */
  private largest = 0;
  /**
   * Whether freed room can give the stream more to send: true unless it last found the window
   * with room and the subscription with nothing to hand out (then only a publish, a nack, a due
   * time or a lease deadline can; an ack that frees room would wake it for an empty lease).
   */
  waitingForRoom = true;

  /**
   * Most messages in one response: a part of the window, so that several responses are on their
   * way at once and the consumer works on one while the stream leases the next (one response of
   * the whole window would leave each side idle while the other works).
   */
  readonly maxPerResponse: number;

  constructor(
    readonly subscription: string,
    readonly maxMessages: number,
    readonly maxBytes: number,
    private readonly clock: Clock,
    /** The largest message the broker accepts: the size assumed before any is seen. */
    private readonly sizeCapBytes: number,
  ) {
    this.maxPerResponse = Math.max(1, Math.ceil(maxMessages / RESPONSES_PER_WINDOW));
  }

  /** When the earliest held lease ends (infinite: none). */
  get earliestDeadlineMs(): number {
    return this.earliestMs;
  }

  /** How many messages it holds. */
  get size(): number {
    return this.slots.size;
  }

  /**
   * How many messages to lease now: 0 when the window is full. Sized by the largest message
   * seen so the bytes window holds; an empty window always takes at least one, so a message
   * larger than the window still goes out alone.
   */
  room(): number {
    this.expire();
    const held = this.slots.size;
    const messages = this.maxMessages - held;
    if (messages <= 0) return 0;
    const size = Math.max(1, this.largest > 0 ? this.largest : this.sizeCapBytes);
    const byBytes = Math.max(0, Math.floor((this.maxBytes - this.bytes) / size));
    return Math.min(messages, held === 0 ? Math.max(1, byBytes) : byBytes);
  }

  /** Bytes the window may still take (at least 1: an empty window takes one message of any size). */
  roomBytes(): number {
    return Math.max(1, this.maxBytes - this.bytes);
  }

  add(deliveries: readonly Delivery[], deadlineMs: number): void {
    if (deliveries.length === 0) return;
    const deadline: Deadline = { ms: deadlineMs };
    for (const d of deliveries) {
      const bytes = messageSize(d.message);
      if (bytes > this.largest) this.largest = bytes;
      const held = this.slots.get(d.ackId);
      if (held !== undefined) this.drop(d.ackId, held); // the same ack id again: it counts once
      let slot = this.free.pop();
      if (slot === undefined) {
        slot = this.slotBytes.length;
        this.slotBytes.push(bytes);
        this.slotDeadline.push(deadline);
        this.slotMessageId.push(d.message.id);
      } else {
        this.slotBytes[slot] = bytes;
        this.slotDeadline[slot] = deadline;
        this.slotMessageId[slot] = d.message.id;
      }
      this.slots.set(d.ackId, slot);
      this.bytes += bytes;
    }
    if (deadlineMs < this.earliestMs) this.earliestMs = deadlineMs;
  }

  /** Forgets the given ack ids and message ids; returns how many entries it dropped. */
  release(ackIds: readonly string[], messageIds: readonly string[]): number {
    let n = 0;
    for (const id of ackIds) {
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      this.drop(id, slot);
      n++;
    }
    if (messageIds.length > 0) {
      const wanted = new Set(messageIds);
      for (const [id, slot] of this.slots) {
        if (!wanted.has(this.slotMessageId[slot] as string)) continue;
        this.drop(id, slot);
        n++;
      }
    }
    return n;
  }

  /** Moves the deadlines of held ack ids (ModifyAckDeadline); returns how many it held. */
  extend(ackIds: readonly string[], deadlineMs: number): number {
    let n = 0;
    const deadline: Deadline = { ms: deadlineMs };
    for (const id of ackIds) {
      const slot = this.slots.get(id);
      if (slot === undefined) continue;
      this.slotDeadline[slot] = deadline;
      n++;
    }
    if (n > 0 && deadlineMs < this.earliestMs) this.earliestMs = deadlineMs;
    return n;
  }

  /** Empties the window and returns every ack id it held. */
  takeAll(): string[] {
    const ids = [...this.slots.keys()];
    this.slots.clear();
    this.slotBytes.length = 0;
    this.slotDeadline.length = 0;
    this.slotMessageId.length = 0;
    this.free.length = 0;
    this.bytes = 0;
    this.earliestMs = Number.POSITIVE_INFINITY;
    return ids;
  }

  /** Forgets a held ack id; its slot is free for the next add (and holds no message id meanwhile). */
  private drop(ackId: string, slot: number): void {
    this.slots.delete(ackId);
    this.bytes -= this.slotBytes[slot] as number;
    this.slotDeadline[slot] = NO_DEADLINE;
    this.slotMessageId[slot] = "";
    this.free.push(slot);
  }

  /** Drops entries whose lease has ended; recomputes the earliest deadline. */
  private expire(): void {
    const now = this.clock.now();
    if (now < this.earliestMs) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [id, slot] of this.slots) {
      const ms = (this.slotDeadline[slot] as Deadline).ms;
      if (ms <= now) this.drop(id, slot);
      else if (ms < earliest) earliest = ms;
    }
    this.earliestMs = earliest;
  }
}

/** Registers an open stream so settles on its ack ids reach it. */
export function registerStream(ctx: CoreContext, window: Outstanding): void {
  let set = ctx.streams.get(window.subscription);
  if (!set) {
    set = new Set();
    ctx.streams.set(window.subscription, set);
  }
  set.add(window);
}

export function unregisterStream(ctx: CoreContext, window: Outstanding): void {
  const set = ctx.streams.get(window.subscription);
  set?.delete(window);
  if (set?.size === 0) ctx.streams.delete(window.subscription);
}

/**
 * After an ack or nack: frees the room these ids held on the subscription's streams and wakes
 * those that wait for room (see {@link Outstanding.waitingForRoom}).
 */
export function releaseOutstanding(
  ctx: CoreContext,
  subscription: string,
  ackIds: readonly string[],
  messageIds: readonly string[],
): void {
  const set = ctx.streams.get(subscription);
  if (!set) return;
  for (const w of set) if (w.release(ackIds, messageIds) > 0 && w.waitingForRoom) ctx.notifier.notify(w.channel);
}

/** After a ModifyAckDeadline: the held entries count until their new deadline. */
export function extendOutstanding(
  ctx: CoreContext,
  subscription: string,
  ackIds: readonly string[],
  deadlineMs: number,
): void {
  const set = ctx.streams.get(subscription);
  if (!set) return;
  // A shorter deadline moves the stream's timer earlier, so the stream re-plans its wait.
  for (const w of set) if (w.extend(ackIds, deadlineMs) > 0) ctx.notifier.notify(w.channel);
}
