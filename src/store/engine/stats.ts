/**
 * What a cursor reports: counters, the oldest unacked message, and when it next has something
 * due. Tracked messages answer from memory; messages the cursor has not read yet from the log
 * (past its scan position) are looked up in the log and in the topic's index of delayed messages.
 */
import type { KvReader } from "../kv/kv.js";
import type { SubscriptionCounters } from "../store.js";
import type { Cursor } from "./cursor.js";
import { trackedDue } from "./due.js";
import { idKey, parseTopicDueKey, prefixEnd, seqKey, Table, topicDueKey } from "./keys.js";
import type { Lane } from "./lane.js";
import { LANES } from "./lane.js";
import { readLane, viewMessage } from "./lane-reads.js";
import { messagePriority, messagePublishTime } from "./message-codec.js";
import { isGone } from "./release.js";
import type { TopicState } from "./state.js";

/** Most index or log entries a stat looks at past the scan position. */
const STAT_SCAN = 10_000;

/** The scan position of a lane (an ordered cursor reads all lanes together). */
function scanFrom(c: Cursor, lane: number): number {
  return (c.lanes[lane] as Lane).next;
}

/**
 * Delayed messages the cursor has not read yet that it holds: from the topic's delay index,
 * those due after the cursor last applied its due work.
 */
function untrackedDelayed(r: KvReader, t: TopicState, c: Cursor, each: (dueMs: number) => boolean): void {
  const after = Number.isFinite(c.processedMs) ? Math.floor(c.processedMs) + 1 : 0;
  if (t.dueLast === 0 || t.dueLast < after) return; // nothing in the index is due after `after`
  const start = topicDueKey(t.id, after, 0);
  const end = prefixEnd(idKey(Table.TopicDue, t.id));
  for (const { key, value } of r.range({ start, end, limit: STAT_SCAN })) {
    const { dueMs, seq } = parseTopicDueKey(key);
    const lane = value[0] as number;
    const l = c.lanes[lane] as Lane;
    if (isGone(t, seq) || seq < scanFrom(c, lane) || l.settled(seq) || c.tracked.has(seq) || c.known.has(seq)) {
      continue;
    }
    const raw = r.view(seqKey(Table.Message, t.id, seq)); // the header: no copy of the message
    if (!raw || !c.wantsStored(raw)) continue;
    if (!each(dueMs)) return;
  }
}

/** The counters GetStats shows for a subscription. */
export function subscriptionCounters(r: KvReader, t: TopicState, c: Cursor): SubscriptionCounters {
  let delayed = c.delayed;
  for (const k of c.known.values()) if (k.dueMs > c.processedMs) delayed++;
  untrackedDelayed(r, t, c, () => {
    delayed++;
    return true;
  });
  return { unacked: c.unacked, inFlight: c.inFlight, delayed, oldestUnackedPublishMs: oldestUnacked(r, t, c) };
}

/** The first held message of a lane from its scan position (seq, publish time), within the stat bound. */
function firstUnscanned(
  r: KvReader,
  t: TopicState,
  c: Cursor,
  lane: number,
): { seq: number; publishMs: number } | undefined {
  const l = c.lanes[lane] as Lane;
  let from = scanFrom(c, lane);
  let looked = 0;
  while (looked < STAT_SCAN) {
    const batch = readLane(r, t, lane, from, 64);
    if (batch.length === 0) return undefined;
    for (const seq of batch) {
      from = seq + 1;
      looked++;
      if (l.settled(seq) || c.tracked.has(seq)) continue;
      const raw = viewMessage(r, t, seq);
      if (!raw || (lane === 0 && messagePriority(raw) !== 0)) continue;
      if (!c.wantsStored(raw)) continue;
      return { seq, publishMs: messagePublishTime(raw) };
    }
  }
  return undefined;
}

/** Publish time of the lowest unacked seq of the cursor; 0 when none. */
export function oldestUnacked(r: KvReader, t: TopicState, c: Cursor): number {
  let best = Number.POSITIVE_INFINITY;
  let publishMs = 0;
  for (const e of c.tracked.values()) {
    if (e.seq < best) {
      best = e.seq;
      publishMs = e.meta.publishMs;
    }
  }
  for (let p = 0; p < LANES; p++) {
    const f = firstUnscanned(r, t, c, p);
    if (f && f.seq < best) {
      best = f.seq;
      publishMs = f.publishMs;
    }
  }
  if (best === Number.POSITIVE_INFINITY) return 0;
  if (publishMs === 0) {
    const raw = r.view(seqKey(Table.Message, t.id, best));
    publishMs = raw ? messagePublishTime(raw) : 0;
  }
  return publishMs;
}

/**
 * The earliest time a lease on the cursor could find something it cannot now: a lease deadline,
 * a delay, a message published with a delay it has not read yet; 0 when its last read stopped
 * at the scan bound (there is more to read at once). Undefined: nothing is due.
 */
export function nextDue(r: KvReader, t: TopicState, c: Cursor): number | undefined {
  if (c.scanIncomplete) return 0;
  let min = trackedDue(c);
  untrackedDelayed(r, t, c, (dueMs) => {
    min = Math.min(min, dueMs);
    return false; // due order: the first one found is the earliest
  });
  return min === Number.POSITIVE_INFINITY ? undefined : min;
}
