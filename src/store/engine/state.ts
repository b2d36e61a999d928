/**
 * The engine's in-memory view of the store: every topic, subscription (its cursor) and snapshot,
 * loaded once when the store opens (their number is small: it does not grow with messages) and
 * kept in step by the operations, which persist what they change in the same write.
 */

import { BrokerError } from "../../errors/index.js";
import type { SnapshotRecord } from "../replay-store.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import type { Cursor } from "./cursor.js";
import { IdDeletes } from "./id-deletes.js";
import { LogTail, TailBudget } from "./log-tail.js";
import { RangeSet } from "./range-set.js";

/** Head of a topic's log. */
export interface Head {
  lastSeq: number;
  /** Stored messages (from logStart on, released ones not counted) and their data bytes. */
  messages: number;
  bytes: number;
  /** Every seq below it is gone (purged); physical deletes may still be running. */
  logStart: number;
}

/** A snapshot's captured cursor: what it holds in the log. */
export interface SnapshotState {
  record: SnapshotRecord;
  /** The subscription it was taken from (a redriven message for it counts). */
  subId: number;
  filter: Record<string, string> | undefined;
  /** Per lane: the captured floor and acked ranges. */
  lanes: { floor: number; ranges: RangeSet }[];
}

/** A topic with its head and the cursors and snapshots on it. */
export class TopicState {
  /** The last seq whose append is durable: delivery never reads past it. */
  durableSeq: number;
  readonly cursors = new Map<number, Cursor>();
  readonly snapshots = new Map<number, SnapshotState>();
  /**
   * Released seqs at or above logStart: nobody holds them and retention does not keep them, so
   * every reader treats them as gone and the head no longer counts them, but their log entries
   * are still there until the trim deletes them (trim.ts). Persisted as Released ranges with the
   * head.
   */
  readonly released = new RangeSet();
  /** Starts of the Released ranges stored, so a write deletes only keys that exist. */
  readonly releasedStored = new Set<number>();
  /**
   * Seqs a trim step deleted that its commit has not made visible yet: reads see the last
   * committed state, where their entries are still there, so they stay gone until then (trim.ts).
   */
  readonly trimInFlight = new RangeSet();
  /**
   * Released seqs the log may not hold (ranges grown over gaps, ranges found at start): the trim
   * finds their stored ones by a key scan; the keys of the other released seqs it makes (trim.ts).
   * Never written.
   */
  readonly trimScan = new RangeSet();
  /** The recent end of the log in memory (log-tail.ts); counted against its store's budget once added. */
  readonly tail = new LogTail();
  /**
   * Per priority lane 1..9, a seq at or above that of every entry of its lane index (infinite:
   * not known): a lane scan from above it would find nothing, so it is not read (deliver.ts).
   * Set when the topic is created or loaded, raised by every append of the lane (append.ts).
   */
  readonly laneLast: number[] = new Array<number>(10).fill(Number.POSITIVE_INFINITY);
  /**
   * A due time at or above that of every entry of the topic's delay index (0: it holds none;
   * infinite: not known): a stat or a stream's wait that looks for delayed messages due after it
   * finds none, so it does not read the index (stats.ts). Set when the topic is created or loaded,
   * raised by every append of a delayed message (append.ts).
   */
  dueLast = Number.POSITIVE_INFINITY;

  constructor(
    public record: TopicRecord,
    public head: Head,
  ) {
    this.durableSeq = head.lastSeq;
  }

  get id(): number {
    return this.record.id;
  }

  get name(): string {
    return this.record.name;
  }
}

/** Every topic, cursor and snapshot, by name and by id. */
export class EngineState {
  readonly topics = new Map<string, TopicState>();
  readonly topicsById = new Map<number, TopicState>();
  readonly cursors = new Map<string, Cursor>();
  readonly cursorsById = new Map<number, Cursor>();
  readonly snapshots = new Map<string, SnapshotState>();
  /** Topics with released messages the trim has not deleted yet (trim.ts). */
  readonly trimming = new Set<TopicState>();
  /** Cursors changed since they were last written (the next write persists them). */
  readonly dirtyCursors = new Set<Cursor>();
  /** Id entries of released messages, deleted by the trim (id-deletes.ts). */
  readonly idDeletes = new IdDeletes();
  /** What the topics' log tails hold in all (log-tail.ts). */
  readonly tailBudget = new TailBudget();

  /**
   * @param loadedMs when the store was opened (wall clock): a message delayed past it was not
   *   delivered before the restart.
   */
  constructor(readonly loadedMs: number) {}

  requireTopic(name: string): TopicState {
    const t = this.topics.get(name);
    if (!t) throw new BrokerError("TOPIC_NOT_FOUND", `topic "${name}" does not exist`, { metadata: { topic: name } });
    return t;
  }

  requireCursor(name: string): Cursor {
    const c = this.cursors.get(name);
    if (!c) {
      throw new BrokerError("SUBSCRIPTION_NOT_FOUND", `subscription "${name}" does not exist`, {
        metadata: { subscription: name },
      });
    }
    return c;
  }

  /** The topic of a cursor. */
  topicOf(c: Cursor): TopicState {
    return this.topicsById.get(c.record.topicId) as TopicState;
  }

  requireSnapshot(name: string): SnapshotState {
    const s = this.snapshots.get(name);
    if (!s) {
      throw new BrokerError("SNAPSHOT_NOT_FOUND", `snapshot "${name}" does not exist`, {
        metadata: { snapshot: name },
      });
    }
    return s;
  }

  addTopic(t: TopicState): void {
    this.topics.set(t.name, t);
    this.topicsById.set(t.id, t);
    t.tail.share(this.tailBudget);
  }

  removeTopic(t: TopicState): void {
    this.trimming.delete(t);
    this.topics.delete(t.name);
    this.topicsById.delete(t.id);
    t.tail.clear();
    for (const c of t.cursors.values()) this.removeCursor(c);
    for (const s of t.snapshots.values()) this.snapshots.delete(s.record.name);
  }

  addCursor(t: TopicState, c: Cursor): void {
    t.cursors.set(c.id, c);
    this.cursors.set(c.record.name, c);
    this.cursorsById.set(c.id, c);
  }

  removeCursor(c: Cursor): void {
    this.topicsById.get(c.record.topicId)?.cursors.delete(c.id);
    this.cursors.delete(c.record.name);
    this.cursorsById.delete(c.id);
  }
}

/** A copy of a topic record for callers. */
export function topicRecordCopy(t: TopicState): TopicRecord {
  return { ...t.record };
}

/** A copy of a subscription record for callers. */
export function subscriptionRecordCopy(c: Cursor): SubscriptionRecord {
  const r = c.record;
  return {
    ...r,
    retry: { ...r.retry },
    filter: { ...r.filter },
    start: { ...r.start },
    push: r.push ? { ...r.push, headers: { ...r.push.headers } } : null,
  };
}
