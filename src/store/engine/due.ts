/**
 * Due work of a cursor, applied in memory at the time of each delivery call: leases past their
 * deadline and delays that elapsed. An expired lease is a failed delivery: it waits the retry
 * backoff, or, on its last attempt, is marked to leave for the dead-letter topic in the next
 * write; a message past its TTL is marked to leave the log.
 */
import type { Cursor, Entry } from "./cursor.js";
import { backoffMs, exhausts } from "./dead-letter.js";
import { markGone } from "./lane-reads.js";
import type { EngineState } from "./state.js";

/** An expired lease: available again (after the backoff), exhausted, or gone with its TTL. */
function expireLease(state: EngineState, c: Cursor, e: Entry, nowMs: number): void {
  if (e.meta.expireAtMs > 0 && e.meta.expireAtMs <= nowMs) {
    markGone(c, e, nowMs);
    return;
  }
  if (exhausts(state, c, e.attempts)) {
    c.move(e, "exhausted");
    e.reason = "lease_expired";
    e.error = "";
    return;
  }
  const at = e.dueMs + backoffMs(c, e.seq, e.attempts);
  if (at > nowMs) c.move(e, "delayed", at);
  else c.move(e, "ready");
  // A failed delivery's attempts survive a restart (written with the next write, not synced).
  c.persistState(e.seq, e.attempts, at > nowMs ? at : 0);
  e.persisted = true;
  state.dirtyCursors.add(c);
}

/** Applies a cursor's due work at `nowMs` in memory. Returns true when a write must follow. */
export function processDue(state: EngineState, c: Cursor, nowMs: number): boolean {
  if (nowMs > c.processedMs) c.processedMs = nowMs;
  for (;;) {
    const deadline = c.batches.peekKey();
    if (deadline === undefined || deadline > nowMs) break;
    const batch = c.batches.pop();
    if (!batch) break;
    for (const seq of batch.seqs) {
      const e = c.tracked.get(seq);
      if (e && e.batch === batch && e.state === "leased") expireLease(state, c, e, nowMs);
    }
  }
  for (;;) {
    const due = c.delays.peekKey();
    if (due === undefined || due > nowMs) break;
    const e = c.delays.pop() as Entry;
    if (c.tracked.get(e.seq) !== e || e.state !== "delayed" || e.dueMs !== due) continue;
    if (e.meta.expireAtMs > 0 && e.meta.expireAtMs <= nowMs) markGone(c, e, nowMs);
    else c.move(e, "ready");
  }
  return c.outgoing.size > 0;
}

/** The earliest lease deadline or delay of the cursor's tracked messages (infinite: none). */
export function trackedDue(c: Cursor): number {
  let min = Number.POSITIVE_INFINITY;
  for (;;) {
    const batch = c.batches.peek();
    if (!batch) break;
    if (batch.alive > 0) {
      min = batch.deadlineMs;
      break;
    }
    c.batches.pop();
  }
  for (;;) {
    const e = c.delays.peek();
    const due = c.delays.peekKey();
    if (!e || due === undefined) break;
    if (c.tracked.get(e.seq) === e && e.state === "delayed" && e.dueMs === due) {
      min = Math.min(min, due);
      break;
    }
    c.delays.pop();
  }
  // A heap, not a walk over every known state: this runs before every wait of a consumer.
  return Math.min(min, c.earliestKnownDue());
}
