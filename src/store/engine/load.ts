/**
 * Opening a store: the format check, then the in-memory state (topics, cursors, snapshots,
 * released ranges awaiting the trim, jobs) read from their records. Nothing here reads the log, so opening takes the same time
 * with a million messages stored as with none.
 */
import { BrokerError } from "../../errors/index.js";
import type { KvReader } from "../kv/kv.js";
import type { SnapshotRecord } from "../replay-store.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import { Cursor } from "./cursor.js";
import { readCursor, readHead, readReleased, readSnapshotRanges } from "./cursor-store.js";
import { idKey, laneKey, laneKeySeq, parseTopicDueKey, prefixEnd, stringKey, Table, tableKey } from "./keys.js";
import { LANES } from "./lane.js";
import { RangeSet } from "./range-set.js";
import { EngineState, type SnapshotState, TopicState } from "./state.js";

/** The store format this engine reads and writes (key layout, records, message encoding). */
export const STORE_FORMAT = "3";
/** The metadata key of the format. */
export const FORMAT_KEY = stringKey(Table.Meta, "format");

/**
 * Checks the store format: "fresh" for an empty store (the caller writes the format), "ok" for
 * ours; another format (or data without one: format 1 wrote none) is refused.
 */
export function checkFormat(r: KvReader, where: string): "fresh" | "ok" {
  const raw = r.get(FORMAT_KEY);
  if (raw?.toString() === STORE_FORMAT) return "ok";
  const empty = r.range({ start: Buffer.alloc(0), end: Buffer.alloc(1, 0xff), limit: 1 }).length === 0;
  if (!raw && empty) return "fresh";
  const found = raw ? raw.toString() : "1";
  throw new BrokerError(
    "STORE_FORMAT_MISMATCH",
    `${where} holds store format ${found}; this version of Switchyard reads format ${STORE_FORMAT} only and does not migrate data: start it on a new data directory (or remove the old one)`,
    { metadata: { found, expected: STORE_FORMAT } },
  );
}

function all(r: KvReader, table: Table) {
  const start = tableKey(table);
  return r.range({ start, end: prefixEnd(start) });
}

/**
 * Each priority lane's last indexed seq (see TopicState.laneLast), and the latest due time of the
 * delay index (TopicState.dueLast): one read of a key each.
 */
function readIndexBounds(r: KvReader, t: TopicState): void {
  for (let p = 1; p < LANES; p++) {
    const last = r.keys({
      start: laneKey(t.id, p, 0),
      end: laneKey(t.id, p, Number.MAX_SAFE_INTEGER),
      limit: 1,
      reverse: true,
    })[0];
    t.laneLast[p] = last === undefined ? 0 : laneKeySeq(last);
  }
  const lastDue = r.keys({
    start: idKey(Table.TopicDue, t.id),
    end: prefixEnd(idKey(Table.TopicDue, t.id)),
    limit: 1,
    reverse: true,
  })[0];
  t.dueLast = lastDue === undefined ? 0 : parseTopicDueKey(lastDue).dueMs;
}

/** Reads the in-memory state of a store. */
export function loadState(r: KvReader, loadedMs: number): EngineState {
  const state = new EngineState(loadedMs);
  for (const { value } of all(r, Table.Topic)) {
    const record = JSON.parse(value.toString()) as TopicRecord;
    const t = new TopicState(record, readHead(r, record.id));
    readReleased(r, t);
    readIndexBounds(r, t);
    if (t.released.count > 0) {
      state.trimming.add(t);
      // Their id entries may have been waiting for the trim when the process stopped (id-deletes.ts).
      state.idDeletes.recover(t, (t.released.at(t.released.count - 1) as [number, number])[1]);
    }
    state.addTopic(t);
  }
  for (const { value } of all(r, Table.Subscription)) {
    const record = JSON.parse(value.toString()) as SubscriptionRecord;
    const t = state.topicsById.get(record.topicId);
    if (!t) continue;
    const c = new Cursor(record, 1);
    readCursor(r, c);
    state.addCursor(t, c);
  }
  for (const { value } of all(r, Table.Snapshot)) {
    const stored = JSON.parse(value.toString()) as SnapshotRecord & {
      subId: number;
      filter: Record<string, string>;
      floors: number[];
    };
    const t = state.topicsById.get(stored.topicId);
    if (!t) continue;
    const { subId, filter, floors, ...record } = stored;
    const ranges = readSnapshotRanges(r, record.id);
    const snap: SnapshotState = {
      record,
      subId,
      filter: Object.keys(filter).length > 0 ? filter : undefined,
      lanes: floors.map((floor, p) => ({ floor, ranges: ranges[p] ?? new RangeSet() })),
    };
    t.snapshots.set(record.id, snap);
    state.snapshots.set(record.name, snap);
  }
  return state;
}
