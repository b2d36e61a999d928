/**
 * Peek from the back of the delivery order (okQ's QLPEEK): the message that would be delivered
 * last comes first. Lanes from the lowest priority up; in each, the messages not read yet from the
 * log (newest first), then those tracked as available again. Nothing is leased, and at most
 * {@link SCAN_BUDGET} unavailable entries are looked at per lane.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { SCAN_BUDGET, untrackedState } from "./deliver.js";
import type { Lane } from "./lane.js";
import { LANES } from "./lane.js";
import { messagePriority } from "./message-codec.js";
import { type Peeked, peekAvailable, peekable, readLaneBack, readyOf } from "./peek.js";
import type { EngineState, TopicState } from "./state.js";

const CHUNK = 256;

/** Up to `limit` available messages from the back of the delivery order (see the module comment). */
export function peekBack(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
): Peeked[] {
  // An ordered subscription's availability depends on the keys' lines: the forward view, reversed.
  if (c.ordered) return peekAvailable(state, r, t, c, SCAN_BUDGET, nowMs).reverse().slice(0, limit);
  const out: Peeked[] = [];
  for (let p = 0; p < LANES && out.length < limit; p++) {
    const lane = c.lanes[p] as Lane;
    let before = Number.POSITIVE_INFINITY;
    let skipped = 0;
    while (out.length < limit && skipped < SCAN_BUDGET) {
      const batch = readLaneBack(r, t, p, lane.next, before, CHUNK);
      if (batch.length === 0) break;
      for (const { seq, raw } of batch) {
        before = seq;
        if (out.length >= limit) break;
        if (!raw || (p === 0 && messagePriority(raw) !== 0)) continue;
        if (!peekable(c, lane, seq, raw, nowMs, state)) {
          skipped++;
          continue;
        }
        out.push({ seq, lane: p, attempt: untrackedState(state, c, seq, p, raw).attempts + 1, raw });
      }
    }
    for (const x of readyOf(r, t, c, p, nowMs).reverse()) {
      if (out.length >= limit) break;
      out.push(x);
    }
  }
  return out;
}
