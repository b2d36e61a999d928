/**
 * An ordered subscription's scan (deliver.ts): it reads the log in seq order, since an ordering
 * key spans priorities, and lines up each key's messages; deliver.ts then hands out the available
 * ones by priority.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { keySeq, seqKey, Table } from "./keys.js";
import type { Lane } from "./lane.js";
import { adopt, CHUNK, MAX_TRACKED, newEntry, untrackedState } from "./lane-reads.js";
import { decodeMessage, messageExpireAt, messageOrderingKey, messagePriority } from "./message-codec.js";
import { lineOf } from "./ordering-lines.js";
import type { PickOptions } from "./picker.js";
import type { EngineState, TopicState } from "./state.js";

/**
 * Reads an ordered subscription's log in seq order from its scan position, lining up keyed
 * messages: the first of a free key becomes its active message, later ones wait. Stops after
 * `max` newly available messages, at the end, at the scan budget or at the tracking bound.
 */
export function scanOrdered(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  o: PickOptions,
  budget: { n: number },
) {
  const now = o.nowMs;
  const lanes = c.lanes;
  let next = Math.max(t.head.logStart, Math.min(...lanes.map((l) => l.next)));
  let fresh = 0;
  const end = t.durableSeq + 1;
  scan: while (fresh < o.max && next < end) {
    const batch = r.keys({
      start: seqKey(Table.Message, t.id, next),
      end: seqKey(Table.Message, t.id, end),
      limit: CHUNK,
    });
    if (batch.length === 0) {
      next = end;
      break;
    }
    for (const key of batch) {
      const seq = keySeq(key);
      if (fresh >= o.max || c.tracked.size >= MAX_TRACKED) break scan;
      const raw = r.view(key);
      if (!raw) {
        next = seq + 1;
        continue;
      }
      const p = messagePriority(raw);
      const lane = lanes[p] as Lane;
      if (c.tracked.has(seq) || lane.settled(seq)) {
        next = seq + 1;
        continue;
      }
      if (!c.wantsStored(raw)) {
        next = seq + 1;
        if (--budget.n <= 0) {
          c.scanIncomplete = true;
          break scan;
        }
        continue;
      }
      const expireAt = messageExpireAt(raw);
      if (expireAt > 0 && expireAt <= now) {
        c.track(newEntry(seq, raw, undefined, "gone"));
        next = seq + 1;
        continue;
      }
      const s = untrackedState(state, c, seq, p, raw);
      const e = newEntry(seq, raw, decodeMessage(raw, t.name, seq), "ready");
      adopt(c, e, s);
      e.key = messageOrderingKey(raw);
      e.dueMs = s.dueMs;
      const line = e.key === "" ? undefined : lineOf(c, e.key);
      if (line && line.active !== 0) {
        e.state = "waiting";
        const w = line.waiting;
        if (w.length === 0 || (w[w.length - 1] as number) < seq) w.push(seq);
        else w.splice(sortedIndex(w, seq), 0, seq);
      } else {
        if (line) line.active = seq;
        if (s.dueMs > now) e.state = "delayed";
        else {
          e.dueMs = 0;
          fresh++;
        }
      }
      c.track(e);
      next = seq + 1;
    }
  }
  for (const l of lanes) l.next = Math.max(l.next, next);
}

/** Where `seq` goes in an ascending array. */
function sortedIndex(a: number[], seq: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
