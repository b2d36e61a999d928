/**
 * What a subscription's cursor (cursor.ts) tracks per message: the states a tracked message can
 * be in, the tracked entry itself, the lease batches that share one expiry deadline, what is known
 * of a message the cursor no longer tracks, and an ordering key's line on an ordered subscription.
 * Plain data only; the cursor owns the bookkeeping that moves entries between states. See the
 * README's "Retries and dead letters" and "Durability" sections for what these states mean to a
 * client.
 */
import type { DeadLetterReason } from "../dead-letters.js";
import type { MessageMeta } from "./message-codec.js";

/** Where a tracked message is. */
export type EntryState =
  /** Handed out under a lease until `dueMs`. */
  | "leased"
  /** Available again (nacked, lease expired, delay passed, or its key's turn came). */
  | "ready"
  /** Not available before `dueMs`. */
  | "delayed"
  /** Behind its ordering key's active message (ordered subscriptions). */
  | "waiting"
  /** Used up its delivery attempts: leaves for the dead-letter topic in the next write. */
  | "exhausted"
  /** Past its TTL: leaves the log and every subscription in the next write. */
  | "gone";

/** A message the cursor tracks (see {@link EntryState}). */
export interface Entry {
  seq: number;
  /** Its priority lane. */
  lane: number;
  state: EntryState;
  /** Delivery attempts so far; a leased entry counts its lease. */
  attempts: number;
  /** Lease deadline (leased), due time (delayed) or deliver time carried while waiting; else 0. */
  dueMs: number;
  /** The lease batch of a leased entry (expiry timers). */
  batch: LeaseBatch | undefined;
  meta: MessageMeta;
  /** Ordering key ("" none); only ordered subscriptions use it. */
  key: string;
  /** A MsgState record exists for it. */
  persisted: boolean;
  /** How the last attempt of an exhausted entry ended, and the nack's error text. */
  reason?: DeadLetterReason;
  error?: string;
}

/** Leases handed out together share a deadline and one timer entry. */
export interface LeaseBatch {
  deadlineMs: number;
  seqs: number[];
  /** Entries still leased under it; at 0 its seqs are let go (it waits in the heap till its deadline). */
  alive: number;
}

/** Attempts and due time known for a message the cursor does not track (loaded, or nacked by id). */
export interface Known {
  attempts: number;
  dueMs: number;
  persisted: boolean;
}

/** An ordering key's line on an ordered subscription: its active message and those waiting. */
export interface Line {
  /** The active message's seq (0: none). */
  active: number;
  /** Waiting seqs, ascending. */
  waiting: number[];
}
