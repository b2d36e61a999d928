import { randomUUID } from "node:crypto";
import type { Delivery } from "../model/index.js";
import type { Clock } from "../util/index.js";
import type { CoreContext } from "./context.js";
import { messageSize } from "./validate.js";

/** Responses a full window is split into at least ({@link Outstanding.maxPerResponse}). */
const RESPONSES_PER_WINDOW = 4;
/** Ack ids the batches may list, settled or not, before the bound on them applies (see Outstanding.list). */
const MIN_LISTED_BEFORE_COMPACTING = 4096;

/**
 * The deliveries of one {@link Outstanding.add}: their ack ids and message ids, and the lease
 * deadline they share. Per-message state is the bytes in {@link Outstanding}'s map; nothing else
 * is kept per message.
 */
interface Batch {
  deadlineMs: number;
  ackIds: string[];
  messageIds: string[];
}

/**
 * The flow-control window of one Subscribe stream: what it holds (leased, not yet acked,
 * nacked or expired) and how much more it may take. Settles on the stream's ack ids free room
 * through {@link releaseOutstanding}, which wakes the stream on its own notifier channel.
 * Internal to the core.
 *
 * Held ack ids map to their message's bytes; their deadlines and message ids are kept per batch
 * (one add: one lease deadline), so holding a message costs one map entry, not an object. An ack
 * id whose deadline ModifyAckDeadline moved is also in the batch of its new deadline, and in
 * `moved`: a batch past its deadline drops only the ids whose deadline is its own.
 */
export class Outstanding {
  /** The notifier channel that wakes this stream when room frees up (never a valid topic name). */
  readonly channel = `\u0000stream:${randomUUID()}`;
  /** Held ack id → its message's bytes. */
  private readonly held = new Map<string, number>();
  /** Held ack ids whose deadline was moved → the new deadline. */
  private readonly moved = new Map<string, number>();
  /** The batches that may hold ack ids, in no particular order. */
  private batches: Batch[] = [];
  /** Ack ids in all batches (held or not): past twice those held, the batches are compacted. */
  private listed = 0;
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
    return this.held.size;
  }

  /**
   * How many messages to lease now: 0 when the window is full. Sized by the largest message
   * seen so the bytes window holds; an empty window always takes at least one, so a message
   * larger than the window still goes out alone.
   */
  room(): number {
    this.expire();
    const messages = this.maxMessages - this.held.size;
    if (messages <= 0) return 0;
    const size = Math.max(1, this.largest > 0 ? this.largest : this.sizeCapBytes);
    const byBytes = Math.max(0, Math.floor((this.maxBytes - this.bytes) / size));
    return Math.min(messages, this.held.size === 0 ? Math.max(1, byBytes) : byBytes);
  }

  /** Bytes the window may still take (at least 1: an empty window takes one message of any size). */
  roomBytes(): number {
    return Math.max(1, this.maxBytes - this.bytes);
  }

  add(deliveries: readonly Delivery[], deadlineMs: number): void {
    if (deliveries.length === 0) return;
    const batch: Batch = { deadlineMs, ackIds: new Array(deliveries.length), messageIds: new Array(deliveries.length) };
    for (let i = 0; i < deliveries.length; i++) {
      const d = deliveries[i] as Delivery;
      const bytes = messageSize(d.message);
      if (bytes > this.largest) this.largest = bytes;
      const previous = this.held.get(d.ackId);
      if (previous !== undefined) this.bytes -= previous; // held again (cannot happen: tokens are unique)
      this.held.set(d.ackId, bytes);
      this.moved.delete(d.ackId);
      this.bytes += bytes;
      batch.ackIds[i] = d.ackId;
      batch.messageIds[i] = d.message.id;
    }
    this.list(batch);
    if (deadlineMs < this.earliestMs) this.earliestMs = deadlineMs;
  }

  /**
   * Adds a batch. Settled ack ids stay listed in their batch until it is compacted: when the
   * batches list more than twice the ids held (and a floor), they are rewritten to the ids they
   * own, so what they keep is bounded by what the window holds (amortized: each compaction at
   * least halves them).
   */
  private list(batch: Batch): void {
    this.batches.push(batch);
    this.listed += batch.ackIds.length;
    if (this.listed > 2 * (this.held.size + this.moved.size) + MIN_LISTED_BEFORE_COMPACTING) this.compact();
  }

  /** Rewrites every batch to the ack ids whose deadline it holds; drops empty ones. */
  private compact(): void {
    const kept: Batch[] = [];
    let listed = 0;
    for (const b of this.batches) {
      const ackIds: string[] = [];
      const messageIds: string[] = [];
      for (let i = 0; i < b.ackIds.length; i++) {
        const id = b.ackIds[i] as string;
        if (!this.ownedBy(b, id)) continue;
        ackIds.push(id);
        messageIds.push(b.messageIds[i] as string);
      }
      if (ackIds.length === 0) continue;
      kept.push({ deadlineMs: b.deadlineMs, ackIds, messageIds });
      listed += ackIds.length;
    }
    this.batches = kept;
    this.listed = listed;
  }

  /** Forgets the given ack ids and message ids; returns how many entries it dropped. */
  release(ackIds: readonly string[], messageIds: readonly string[]): number {
    let n = 0;
    for (const id of ackIds) if (this.drop(id)) n++;
    if (messageIds.length > 0) {
      const wanted = new Set(messageIds);
      for (const b of this.batches) {
        for (let i = 0; i < b.ackIds.length; i++) {
          if (wanted.has(b.messageIds[i] as string) && this.drop(b.ackIds[i] as string)) n++;
        }
      }
    }
    return n;
  }

  /** Moves the deadlines of held ack ids (ModifyAckDeadline); returns how many it held. */
  extend(ackIds: readonly string[], deadlineMs: number): number {
    const wanted = new Set<string>();
    for (const id of ackIds) if (this.held.has(id)) wanted.add(id);
    if (wanted.size === 0) return 0;
    // Every held ack id is listed in a batch (the one it was added in, or one it moved to).
    const batch: Batch = { deadlineMs, ackIds: [], messageIds: [] };
    for (const b of this.batches) {
      for (let i = 0; i < b.ackIds.length && wanted.size > 0; i++) {
        const id = b.ackIds[i] as string;
        if (!wanted.delete(id)) continue;
        batch.ackIds.push(id);
        batch.messageIds.push(b.messageIds[i] as string);
      }
    }
    for (const id of batch.ackIds) this.moved.set(id, deadlineMs);
    this.list(batch);
    if (deadlineMs < this.earliestMs) this.earliestMs = deadlineMs;
    return batch.ackIds.length;
  }

  /** Empties the window and returns every ack id it held. */
  takeAll(): string[] {
    const ids = [...this.held.keys()];
    this.held.clear();
    this.moved.clear();
    this.batches = [];
    this.listed = 0;
    this.bytes = 0;
    this.earliestMs = Number.POSITIVE_INFINITY;
    return ids;
  }

  private drop(ackId: string): boolean {
    const bytes = this.held.get(ackId);
    if (bytes === undefined) return false;
    this.held.delete(ackId);
    this.moved.delete(ackId);
    this.bytes -= bytes;
    return true;
  }

  /** Whether `ackId`, held, has its deadline in `b`. */
  private ownedBy(b: Batch, ackId: string): boolean {
    if (!this.held.has(ackId)) return false;
    const moved = this.moved.get(ackId);
    return moved === undefined || moved === b.deadlineMs;
  }

  /**
   * Once the earliest deadline passed: drops the entries whose lease has ended, forgets batches
   * that hold nothing any more, and recomputes the earliest deadline.
   */
  private expire(): void {
    const now = this.clock.now();
    if (now < this.earliestMs) return;
    let earliest = Number.POSITIVE_INFINITY;
    const kept: Batch[] = [];
    let listed = 0;
    for (const b of this.batches) {
      if (b.deadlineMs <= now) {
        for (const id of b.ackIds) if (this.ownedBy(b, id)) this.drop(id);
        continue;
      }
      if (!b.ackIds.some((id) => this.ownedBy(b, id))) continue;
      kept.push(b);
      listed += b.ackIds.length;
      if (b.deadlineMs < earliest) earliest = b.deadlineMs;
    }
    this.batches = kept;
    this.listed = listed;
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
