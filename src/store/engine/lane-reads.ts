/**
 * What delivery (deliver.ts, scan-ordered.ts), peeks and stats share to read a subscription's
 * lanes: their bounds, the keys of a lane, views of stored messages, and the tracked entry of a
 * message read from the log.
 */
import type { StoredMessage } from "../../model/index.js";
import type { KvReader } from "../kv/kv.js";
import type { Cursor, Entry } from "./cursor.js";
import { keySeq, laneKey, laneKeySeq, seqKey, Table } from "./keys.js";
import {
  type MessageMeta,
  messageDeliverAt,
  messageExpireAt,
  messageIdGenerated,
  messageOnlyFor,
  messagePriority,
} from "./message-codec.js";
import { leaveLine } from "./ordering-lines.js";
import { metaOf } from "./picker.js";
import type { EngineState, TopicState } from "./state.js";

/**
 * Entries a scan may step over without taking anything (filtered out, other lanes) in one call;
 * past it the call ends and the cursor reports more to read at once (see {@link Cursor.scanIncomplete}).
 */
export const SCAN_BUDGET = 10_000;
/**
 * Most messages a subscription tracks in memory (in flight, delayed, waiting behind a key);
 * at the bound it reads no further until some settle.
 */
export const MAX_TRACKED = 100_000;
/** Log entries read per range call. */
export const CHUNK = 256;

/** A new tracked entry for a message read from the log. */
export function newEntry(seq: number, raw: Buffer, m: StoredMessage | undefined, state: Entry["state"]): Entry {
  const meta: MessageMeta = m
    ? metaOf(m, messageOnlyFor(raw), messageIdGenerated(raw))
    : {
        size: 0,
        priority: messagePriority(raw),
        publishMs: 0,
        deliverAtMs: messageDeliverAt(raw),
        expireAtMs: messageExpireAt(raw),
        id: "",
        onlyFor: messageOnlyFor(raw),
        generatedId: messageIdGenerated(raw),
      };
  return { seq, lane: meta.priority, state, attempts: 0, dueMs: 0, batch: undefined, meta, key: "", persisted: false };
}

/**
 * The seqs of a lane from `after` up to the durable end, at most `limit`: keys only (lane 0 the
 * log's keys, lanes 1..9 their index), so stepping over messages costs no copy of them; the
 * caller reads each message it looks at as a view (KvReader.view).
 */
export function readLane(r: KvReader, t: TopicState, lane: number, after: number, limit: number): number[] {
  const end = t.durableSeq + 1;
  // Below the log's start everything is purged (its deletion may still be running).
  const from = Math.max(after, t.head.logStart);
  if (from >= end) return [];
  if (lane === 0) {
    return r
      .keys({ start: seqKey(Table.Message, t.id, from), end: seqKey(Table.Message, t.id, end), limit })
      .map(keySeq);
  }
  return r.keys({ start: laneKey(t.id, lane, from), end: laneKey(t.id, lane, end), limit }).map(laneKeySeq);
}

/**
 * The stored message at `seq`: the log tail's value when the tail covers it (log-tail.ts: kept,
 * see {@link keptMessage}), else a view (valid until the next read).
 */
export function viewMessage(r: KvReader, t: TopicState, seq: number): Buffer | undefined {
  const kept = keptMessage(t, seq);
  if (kept !== undefined) return kept ?? undefined;
  return r.view(seqKey(Table.Message, t.id, seq));
}

/**
 * The log tail's value of a durable `seq` (log-tail.ts), a buffer nobody changes or reuses;
 * null when the log has no entry for it, undefined when the tail does not cover it.
 */
export function keptMessage(t: TopicState, seq: number): Buffer | null | undefined {
  return seq <= t.durableSeq ? t.tail.get(seq) : undefined;
}

/** Marks a tracked message past its TTL: it leaves in the next write; its key passes on now. */
export function markGone(c: Cursor, e: Entry, nowMs: number): void {
  c.move(e, "gone");
  leaveLine(c, e.seq, e.key, nowMs);
}

/**
 * What the cursor does with an unscanned message it does not skip: its attempts so far and the
 * time it is due (deliver time, or a nack's delay known for it).
 */
export function untrackedState(state: EngineState, c: Cursor, seq: number, lane: number, raw: Buffer) {
  const known = c.known.get(seq);
  const deliverAt = messageDeliverAt(raw);
  const attempts = c.untrackedAttempts(seq, lane, deliverAt, state.loadedMs);
  return { attempts, dueMs: Math.max(deliverAt, known?.dueMs ?? 0), persisted: known?.persisted ?? false };
}

/** Moves the `known` state of a seq into its new entry. */
export function adopt(c: Cursor, e: Entry, s: { attempts: number; dueMs: number; persisted: boolean }): void {
  e.attempts = s.attempts;
  e.persisted = s.persisted;
  c.known.delete(e.seq);
}
