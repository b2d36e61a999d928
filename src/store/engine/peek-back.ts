/**
 * Peek from the back of the delivery order (okQ's QLPEEK): the message that would be delivered
 * last comes first. Lanes from the lowest priority up; in each, the messages not read yet from the
 * log (newest first), then those tracked as available again. Nothing is leased, and at most
 * {@link SCAN_BUDGET} unavailable entries are looked at per lane.
 */
import type { KvReader } from "../kv/kv.js";
import type { Cursor } from "./cursor.js";
import { LANES } from "./lane.js";
import { SCAN_BUDGET } from "./lane-reads.js";
import { orderedCandidates, type Peeked, PeekOut, peekUnread, readyOf } from "./peek.js";
import type { EngineState, TopicState } from "./state.js";

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
    peekUnread(state, r, t, c, p, nowMs, out, "back");
    out.addAll(r, t, readyOf(c, p, nowMs).reverse());
  }
  return out.out;
}
