import { randomUUID } from "node:crypto";
import type { Delivery } from "../model/index.js";
import type { Clock } from "../util/index.js";
import type { CoreContext } from "./context.js";
import { messageSize } from "./validate.js";

/** Responses a full window is split into at least ({@link Outstanding.maxPerResponse}). */
const RESPONSES_PER_WINDOW = 4;

interface Entry {
  messageId: string;
  bytes: number;
  /** When the lease ends; past it the entry no longer counts against the window. */
  deadlineMs: number;
}

/**
 * The flow-control window of one Subscribe stream: what it holds (leased, not yet acked,
 * nacked or expired) and how much more it may take. Settles on the stream's ack ids free room
 * through {@link releaseOutstanding}, which wakes the stream on its own notifier channel.
 * Internal to the core.
 */
export class Outstanding {
  /** The notifier channel that wakes this stream when room frees up (never a valid topic name). */
  readonly channel = `\u0000stream:${randomUUID()}`;
  private readonly entries = new Map<string, Entry>();
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
    return this.entries.size;
  }

  /**
   * How many messages to lease now: 0 when the window is full. Sized by the largest message
   * seen so the bytes window holds; an empty window always takes at least one, so a message
   * larger than the window still goes out alone.
   */
  room(): number {
    this.expire();
    const messages = this.maxMessages - this.entries.size;
    if (messages <= 0) return 0;
    const size = Math.max(1, this.largest > 0 ? this.largest : this.sizeCapBytes);
    const byBytes = Math.max(0, Math.floor((this.maxBytes - this.bytes) / size));
    return Math.min(messages, this.entries.size === 0 ? Math.max(1, byBytes) : byBytes);
  }

  /** Bytes the window may still take (at least 1: an empty window takes one message of any size). */
  roomBytes(): number {
    return Math.max(1, this.maxBytes - this.bytes);
  }

  add(deliveries: readonly Delivery[], deadlineMs: number): void {
    for (const d of deliveries) {
      const bytes = messageSize(d.message);
      this.largest = Math.max(this.largest, bytes);
      this.entries.set(d.ackId, { messageId: d.message.id, bytes, deadlineMs });
      this.bytes += bytes;
    }
    if (deliveries.length > 0) this.earliestMs = Math.min(this.earliestMs, deadlineMs);
  }

  /** Forgets the given ack ids and message ids; returns how many entries it dropped. */
  release(ackIds: readonly string[], messageIds: readonly string[]): number {
    let n = 0;
    for (const id of ackIds) if (this.drop(id)) n++;
    if (messageIds.length > 0) {
      const wanted = new Set(messageIds);
      for (const [id, e] of this.entries) if (wanted.has(e.messageId) && this.drop(id)) n++;
    }
    return n;
  }

  /** Moves the deadlines of held ack ids (ModifyAckDeadline); returns how many it held. */
  extend(ackIds: readonly string[], deadlineMs: number): number {
    let n = 0;
    for (const id of ackIds) {
      const e = this.entries.get(id);
      if (!e) continue;
      e.deadlineMs = deadlineMs;
      this.earliestMs = Math.min(this.earliestMs, deadlineMs);
      n++;
    }
    return n;
  }

  /** Empties the window and returns every ack id it held. */
  takeAll(): string[] {
    const ids = [...this.entries.keys()];
    this.entries.clear();
    this.bytes = 0;
    this.earliestMs = Number.POSITIVE_INFINITY;
    return ids;
  }

  private drop(ackId: string): boolean {
    const e = this.entries.get(ackId);
    if (!e) return false;
    this.entries.delete(ackId);
    this.bytes -= e.bytes;
    return true;
  }

  /** Drops entries whose lease has ended; recomputes the earliest deadline. */
  private expire(): void {
    const now = this.clock.now();
    if (now < this.earliestMs) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [id, e] of this.entries) {
      if (e.deadlineMs <= now) this.drop(id);
      else earliest = Math.min(earliest, e.deadlineMs);
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
