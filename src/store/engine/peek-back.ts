/**
 * Peek from the back of the delivery order (okQ's QLPEEK): the message that would be delivered
 * last comes first. Lanes from the lowest priority up; in each, the messages not read yet from the
 * log (newest first), then those tracked as available again. Nothing is leased, and at most
 * {@link SCAN_BUDGET} unavailable entries are looked at per lane.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { SCAN_BUDGET, untrackedState, viewMessage } from "./deliver.js";
import type { Lane } from "./lane.js";
import { LANES } from "./lane.js";
import { messagePriority } from "./message-codec.js";
import { orderedCandidates, type Peeked, PeekOut, peekable, readLaneBack, readyOf } from "./peek.js";
import type { EngineState, TopicState } from "./state.js";

const CHUNK = 256;

/** Up to `limit` available messages (and `maxBytes`) from the back of the delivery order. */
export function peekBack(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  limit: number,
  nowMs: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Peeked[] {
  const out = new PeekOut(limit, maxBytes, t.name);
  // An ordered subscription's availability depends on the keys' lines: the forward view, reversed.
  if (c.ordered) {
    out.addAll(r, t, orderedCandidates(state, r, t, c, SCAN_BUDGET, nowMs).slice(0, SCAN_BUDGET).reverse());
    return out.out;
  }
  for (let p = 0; p < LANES && !out.full; p++) {
    const lane = c.lanes[p] as Lane;
    let before = Number.POSITIVE_INFINITY;
    let skipped = 0;
    while (!out.full && skipped < SCAN_BUDGET) {
      const batch = readLaneBack(r, t, p, lane.next, before, CHUNK);
      if (batch.length === 0) break;
      for (const seq of batch) {
        before = seq;
        if (out.full) break;
        const raw = viewMessage(r, t, seq);
        if (!raw || (p === 0 && messagePriority(raw) !== 0)) continue;
        if (!peekable(c, lane, seq, raw, nowMs, state)) {
          skipped++;
          continue;
        }
        out.add(seq, p, untrackedState(state, c, seq, p, raw).attempts + 1, raw);
      }
    }
    out.addAll(r, t, readyOf(c, p, nowMs).reverse());
  }
  return out.out;
}
