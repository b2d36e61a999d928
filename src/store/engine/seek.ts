/**
 * Seek and snapshots on cursors. A Seek gives the cursor new floors and acked ranges (a seq or
 * time: everything from the target on is unacked, everything before acked; a snapshot: the floors
 * and ranges it captured, and everything after its last seq unacked). Leases and delays on
 * messages that stay held are kept; messages that stop being held leave the log if nobody else
 * holds them. The work is counting the messages whose state changes (for the counters) and
 * releasing those that leave: at most the replay bound, checked before anything changes
 * (REPLAY_LIMIT), as one transaction.
 */
import { BrokerError, invalidArgument } from "../../errors/index.js";
import type { SeekTarget } from "../../model/index.js";
import type { SnapshotRecord } from "../replay-store.js";
import { MAX_SNAPSHOTS_PER_TOPIC } from "../replay-store.js";
import { allocateId } from "./catalog.js";
import type { Cursor, Entry } from "./cursor.js";
import { writeSnapshotRanges } from "./cursor-store.js";
import type { Jobs } from "./jobs.js";
import { idKey, keySeq, pairKey, stringKey, Table } from "./keys.js";
import { LANES } from "./lane.js";
import { type MessageMeta, messageAttributes, messageMeta } from "./message-codec.js";
import { lineOf } from "./ordering-lines.js";
import { RangeSet } from "./range-set.js";
import { seqAtTimeIn } from "./read-log.js";
import { liveKeys, release } from "./release.js";
import type { SnapshotState, TopicState } from "./state.js";
import { encodeU32 } from "./table-values.js";
import type { Tx } from "./tx.js";

/** The error for work above the replay bound (thrown before anything is written). */
export function replayLimit(what: string, maxEntries: number): BrokerError {
  return new BrokerError(
    "REPLAY_LIMIT",
    `${what} would touch more than ${maxEntries} messages in one step; nothing was changed`,
    { metadata: { limit: String(maxEntries) } },
  );
}

/** Floors and acked ranges per lane: a cursor's ack state. */
interface AckState {
  floors: number[];
  ranges: RangeSet[];
}

function settledIn(s: AckState, seq: number, lane: number): boolean {
  return seq < (s.floors[lane] as number) || (s.ranges[lane] as RangeSet).has(seq);
}

/** The ack state a Seek target means. */
function goalOf(tx: Tx, t: TopicState, target: SeekTarget): AckState {
  const { lastSeq } = t.head;
  const uniform = (seq: number): AckState => ({
    floors: Array.from({ length: LANES }, () => seq),
    ranges: Array.from({ length: LANES }, () => new RangeSet()),
  });
  switch (target.kind) {
    case "seq":
      if (!Number.isSafeInteger(target.seq) || target.seq < 1 || target.seq > lastSeq + 1) {
        throw invalidArgument(`seq must be between 1 and ${lastSeq + 1} (the next seq), got ${target.seq}`, "seq");
      }
      return uniform(target.seq);
    case "time":
      return uniform(seqAtTimeIn(tx.w, t, target.timeMs));
    case "snapshot": {
      // Another topic's snapshot is answered as a missing one: a subscriber of this topic must
      // not learn which topic that snapshot belongs to, or even that it exists.
      const snap = tx.state.snapshots.get(target.name);
      if (snap === undefined || snap.record.topicId !== t.id) {
        throw new BrokerError("SNAPSHOT_NOT_FOUND", `snapshot "${target.name}" does not exist`, {
          metadata: { snapshot: target.name },
        });
      }
      return {
        floors: snap.lanes.map((l) => Math.min(l.floor, snap.record.lastSeq + 1)),
        ranges: snap.lanes.map((l) => l.ranges.clone()),
      };
    }
  }
}

/** A message whose state a Seek changes. */
interface Change {
  seq: number;
  lane: number;
  meta: MessageMeta;
  held: boolean;
}

/** Seeks a subscription (see `Store.seek`). */
export function seekSubscription(tx: Tx, subscription: string, target: SeekTarget, maxEntries: number): void {
  const c = tx.state.requireCursor(subscription);
  const t = tx.state.topicOf(c);
  const goal = goalOf(tx, t, target);
  // Released messages are gone: settled in the goal, so the cursor never reads them again.
  settleReleased(t, goal.ranges);
  c.normalize();
  const old: AckState = { floors: c.lanes.map((l) => l.floor), ranges: c.lanes.map((l) => l.ranges) };
  // Outside [lo, hi) the old and the new state agree: settled below both floors, held past every range.
  const lo = Math.max(t.head.logStart, Math.min(...old.floors, ...goal.floors));
  let hi = Math.max(...old.floors, ...goal.floors);
  for (const s of [old, goal]) for (const r of s.ranges) hi = Math.max(hi, r.max() + 1);
  hi = Math.min(hi, t.head.lastSeq + 1);
  // Keys first: the bound is checked before a single message is read. Released messages (gone,
  // waiting for the trim) are stepped over: they neither count nor come back.
  const keys = lo < hi ? liveKeys(tx.w, t, lo, hi, maxEntries + 1) : [];
  if (keys.length > maxEntries) throw replayLimit("this Seek", maxEntries);
  const changes: Change[] = [];
  for (const key of keys) {
    // Of each message only its header and attributes, from a view (no copy of its data).
    const seq = keySeq(key);
    const raw = tx.w.view(key);
    if (!raw) continue;
    const meta = messageMeta(raw);
    let attrs: Record<string, string> | undefined;
    const attributes = () => {
      attrs ??= messageAttributes(raw);
      return attrs;
    };
    const before = c.holds(seq, meta.priority, meta.onlyFor, attributes);
    const after = !settledIn(goal, seq, meta.priority) && c.wants(meta.onlyFor, attributes);
    if (before !== after) changes.push({ seq, lane: meta.priority, meta, held: after });
  }
  // Validated; from here on only changes.
  const now = tx.nowMs;
  const released: Change[] = [];
  for (const x of changes) {
    if (x.held) {
      if (!c.uncounted(x.seq)) c.unacked++;
      c.forget(x.seq); // a replayed message is a first delivery
      continue;
    }
    const e = c.tracked.get(x.seq);
    if (e) c.untrack(e);
    c.forget(x.seq);
    c.countOut(x.seq);
    released.push(x);
  }
  applyGoal(c, goal);
  // Replayed messages whose delay passed before now are available now, not delayed.
  for (const x of changes) {
    if (!x.held || c.ordered || c.tracked.has(x.seq)) continue;
    if (x.meta.deliverAtMs > c.processedMs && x.meta.deliverAtMs <= now) {
      const e: Entry = {
        seq: x.seq,
        lane: x.lane,
        state: "ready",
        attempts: 0,
        dueMs: 0,
        batch: undefined,
        meta: x.meta,
        key: "",
        persisted: false,
      };
      c.track(e);
    }
  }
  tx.touchCursor(c);
  for (const x of released) release(tx, t, x.seq, x.meta);
  tx.changedTopics.add(t.name);
}

/** Adds the topic's released ranges to every lane's acked ranges (a cursor settles what is gone). */
export function settleReleased(t: TopicState, lanes: readonly RangeSet[]): void {
  if (t.released.count === 0) return;
  const gone = t.released.entries();
  for (const ranges of lanes) for (const [a, b] of gone) ranges.addRange(a, b);
}

/**
 * Gives the cursor the goal's floors and ranges and a scan position at its floors (it reads the
 * log again from there, stepping over what it still tracks). An ordered subscription keeps only
 * its leased and delayed messages tracked, as the active ones of their keys, and lines the rest
 * up again as it reads.
 */
function applyGoal(c: Cursor, goal: AckState): void {
  for (const e of [...c.tracked.values()]) {
    if (settledIn(goal, e.seq, e.lane)) c.untrack(e); // released above; what remains is held
  }
  if (c.ordered) {
    c.lines.clear();
    for (const e of [...c.tracked.values()]) {
      if (e.state === "leased" || e.state === "delayed" || e.state === "exhausted") continue;
      c.untrack(e, true);
      const dueMs = e.state === "waiting" ? e.dueMs : 0;
      if (e.attempts > 0 || e.persisted || dueMs > 0)
        c.setKnown(e.seq, { attempts: e.attempts, dueMs, persisted: e.persisted });
    }
    for (const e of [...c.tracked.values()].sort((a, b) => a.seq - b.seq)) {
      if (e.key !== "" && lineOf(c, e.key).active === 0) lineOf(c, e.key).active = e.seq;
    }
  }
  c.lanes.forEach((l, p) => {
    l.reset(goal.floors[p] as number);
    for (const [a, b] of (goal.ranges[p] as RangeSet).entries()) l.ranges.addRange(a, b);
  });
  c.reindex();
}

/** Creates a snapshot of a subscription's ack state. */
export function createSnapshotRecord(tx: Tx, name: string, subscription: string, maxEntries: number): SnapshotRecord {
  const c = tx.state.requireCursor(subscription);
  if (tx.state.snapshots.has(name)) {
    throw new BrokerError("ALREADY_EXISTS", `snapshot "${name}" already exists`, { metadata: { snapshot: name } });
  }
  const t = tx.state.topicOf(c);
  if (t.snapshots.size >= MAX_SNAPSHOTS_PER_TOPIC) {
    throw new BrokerError("REPLAY_LIMIT", `topic "${t.name}" has ${MAX_SNAPSHOTS_PER_TOPIC} snapshots already`, {
      metadata: { limit: String(MAX_SNAPSHOTS_PER_TOPIC) },
    });
  }
  if (c.unacked > maxEntries) throw replayLimit("this snapshot", maxEntries);
  c.normalize();
  const record: SnapshotRecord = {
    id: allocateId(tx, "snapshot"),
    topicId: t.id,
    name,
    subscription: c.record.name,
    topic: t.name,
    createTimeMs: tx.nowMs,
    lastSeq: t.head.lastSeq,
    messages: c.unacked,
  };
  const snap: SnapshotState = {
    record,
    subId: c.id,
    filter: c.filter,
    lanes: c.lanes.map((l) => ({ floor: l.floor, ranges: l.ranges.clone() })),
  };
  const stored = { ...record, subId: snap.subId, filter: snap.filter ?? {}, floors: snap.lanes.map((l) => l.floor) };
  tx.w.put(stringKey(Table.SnapshotName, name), encodeU32(record.id));
  tx.w.put(idKey(Table.Snapshot, record.id), Buffer.from(JSON.stringify(stored)));
  tx.w.put(pairKey(Table.TopicSnapshot, t.id, record.id), Buffer.alloc(0));
  writeSnapshotRanges(tx.w, record.id, snap.lanes);
  t.snapshots.set(record.id, snap);
  tx.state.snapshots.set(name, snap);
  return { ...record };
}

/** Deletes a snapshot; the messages only it kept leave the log (in bounded steps). */
export function deleteSnapshotRecord(tx: Tx, jobs: Jobs, name: string): void {
  const snap = tx.state.requireSnapshot(name);
  const r = snap.record;
  tx.w.del(stringKey(Table.SnapshotName, name));
  tx.w.del(idKey(Table.Snapshot, r.id));
  tx.w.del(pairKey(Table.TopicSnapshot, r.topicId, r.id));
  jobs.start(tx, { kind: "drop", prefixes: [idKey(Table.SnapshotRange, r.id).toString("hex")] });
  tx.state.snapshots.delete(name);
  const t = tx.state.topicsById.get(r.topicId);
  if (!t) return;
  t.snapshots.delete(r.id);
  const from = Math.max(t.head.logStart, Math.min(...snap.lanes.map((l) => l.floor)));
  if (from <= r.lastSeq) jobs.start(tx, { kind: "release", topicId: t.id, fromSeq: from, toSeq: r.lastSeq });
}

/** Snapshots in name order after `after`, all or of one subscription. */
export function listSnapshotRecords(
  tx: { state: Tx["state"] },
  subscription: string,
  after: string,
  limit: number,
): SnapshotRecord[] {
  const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
  let all = [...tx.state.snapshots.values()].map((s) => s.record);
  if (subscription !== "") {
    const c = tx.state.requireCursor(subscription);
    all = all.filter((s) => s.topicId === c.record.topicId && s.subscription === c.record.name);
  }
  return all
    .filter((s) => byBytes(s.name, after) > 0)
    .sort((a, b) => byBytes(a.name, b.name))
    .slice(0, limit)
    .map((s) => ({ ...s }));
}
