/**
 * The replay and retention side of the store ({@link ReplayStore}, which the Store interface in
 * store.ts extends): Seek, snapshots, reading the log, and the retention sweep, with the records
 * they return and their bounds.
 */
import type { SeekTarget, SnapshotInfo, StoredMessage } from "../model/index.js";

/** A snapshot as the store keeps it. */
export interface SnapshotRecord extends SnapshotInfo {
  id: number;
  topicId: number;
}

/** One page of a topic's stored log, from {@link ReplayStore.readLog}. */
export interface LogPage {
  messages: StoredMessage[];
  /** Where the next read continues (past every stored seq this one looked at). */
  nextSeq: number;
  /** True when the read reached the end of the stored log. */
  end: boolean;
}

/** What one {@link ReplayStore.sweepRetention} call did. */
export interface SweepResult {
  /** Messages removed from the log. */
  removed: number;
  /** True when the work bound stopped it before it was done: call again soon. */
  more: boolean;
  /** Topics whose subscriptions lost messages (their waiting consumers may have work now). */
  changedTopics: string[];
}

/**
 * Replay and retention operations of the store. Each is one atomic operation; Seek, snapshot
 * creation and deletion touch at most {@link MAX_REPLAY_ENTRIES} messages (REPLAY_LIMIT above).
 */
export interface ReplayStore {
  /**
   * Moves a subscription: every stored message from the target on becomes available (if the
   * subscription does not hold it already; leases and delays it holds stay), everything before
   * it counts as acked. A snapshot target restores the captured unacked seqs that are still
   * stored plus every message after the captured last seq.
   */
  seek(subscription: string, target: SeekTarget, nowMs: number): Promise<void>;
  /** Captures the subscription's unacked seqs; the snapshot keeps them in the log until deleted. */
  createSnapshot(name: string, subscription: string, nowMs: number): Promise<SnapshotRecord>;
  /** Snapshots in name order, names > `after`, of one subscription ("" for all). */
  listSnapshots(subscription: string, after: string, limit: number): Promise<SnapshotRecord[]>;
  /** Deletes a snapshot and lets go of the messages it kept. */
  deleteSnapshot(name: string, nowMs: number): Promise<void>;
  /** Up to `max` stored messages (and about `maxBytes` of data, at least one) from `fromSeq` on. */
  readLog(topic: string, fromSeq: number, max: number, maxBytes: number, nowMs: number): Promise<LogPage>;
  /** The first stored seq published at or after `timeMs`; lastSeq + 1 when there is none. */
  seqAtTime(topic: string, timeMs: number): Promise<number>;
  /**
   * Drops messages past their TTL, retained messages past `retain_acked_ms` and messages past
   * `max_age_ms`, and does the background work (see {@link hasBackgroundWork}); bounded work.
   */
  sweepRetention(nowMs: number, maxWork: number): Promise<SweepResult>;
  /** True when some topic retains acked messages or has limits the sweep applies, or a stored message has a TTL. */
  hasRetentionWork(): Promise<boolean>;
  /**
   * True when the store has background work for the sweep besides retention: bounded steps left
   * by cursor moves (purge, deletes, a subscription starting earlier), released messages whose
   * log entries are still to be deleted (a KV store also does this on its own timer), or dedup
   * windows to end.
   */
  hasBackgroundWork(): Promise<boolean>;
}

/** Most messages one Seek, snapshot creation or deletion may touch (one atomic transaction). */
export const MAX_REPLAY_ENTRIES = 200_000;
/** Most snapshots one topic may have. */
export const MAX_SNAPSHOTS_PER_TOPIC = 1000;
