/**
 * Turning picked messages into leases (in memory only: a lease is never written) or settling them
 * at once (auto-ack), and writing what due work left behind (dead letters, TTL drops).
 */
import type { LeasedRecord } from "../store.js";
import type { Cursor, Entry, LeaseBatch } from "./cursor.js";
import { deadLetter, type Leaving } from "./dead-letter.js";
import { pick } from "./deliver.js";
import { seqKey, Table } from "./keys.js";
import { messageOrderingKey } from "./message-codec.js";
import type { Picked, PickOptions } from "./picker.js";
import { settleHeld } from "./settle-held.js";
import type { EngineState, TopicState } from "./state.js";
import { formatTokenAfter, tokenPrefix } from "./tokens.js";
import { dropFromLog } from "./topic-limits.js";
import type { Tx } from "./tx.js";

/** Leases picked messages until `deadlineMs`; returns them, their tokens set. */
export function leasePicks(state: EngineState, c: Cursor, picks: Picked[], deadlineMs: number): LeasedRecord[] {
  if (picks.length === 0) return [];
  const batch: LeaseBatch = { deadlineMs, seqs: [], alive: 0 };
  const prefix = tokenPrefix(c.id);
  for (const p of picks) {
    let e = p.entry;
    if (e && c.tracked.get(p.seq) === e) {
      c.move(e, "leased", deadlineMs);
      e.attempts = p.attempt;
    } else {
      const known = c.known.get(p.seq);
      e = {
        seq: p.seq,
        lane: p.lane,
        state: "leased",
        attempts: p.attempt,
        dueMs: deadlineMs,
        batch: undefined,
        meta: p.meta,
        key: c.ordered ? p.message.orderingKey : "",
        persisted: known?.persisted ?? false,
      } satisfies Entry;
      if (known) c.known.delete(p.seq);
      c.track(e);
    }
    e.batch = batch;
    batch.seqs.push(p.seq);
    batch.alive++;
    p.token = formatTokenAfter(prefix, p.seq, p.attempt, p.lane);
  }
  c.addBatch(batch);
  state.dirtyCursors.add(c); // its scan marks, written with the next write
  return picks;
}

/** Hands messages out and settles them in the same write (at most once). */
export function autoAck(tx: Tx, t: TopicState, c: Cursor, o: PickOptions): LeasedRecord[] {
  const picks = pick(tx.state, tx.w, t, c, o);
  for (const p of picks) settleHeld(tx, t, c, p.seq, p.lane, p.meta, p.entry);
  if (c.outgoing.size > 0) applyOutgoing(tx, t, c);
  return picks; // their tokens "": nothing to settle
}

/** Moves out what due work marked: exhausted messages (dead letters) and messages past their TTL. */
export function applyOutgoing(tx: Tx, t: TopicState, c: Cursor): void {
  const leaving: Leaving[] = [];
  for (const e of [...c.outgoing]) {
    if (c.tracked.get(e.seq) !== e) {
      c.outgoing.delete(e);
      continue;
    }
    if (e.state === "gone") {
      const raw = tx.w.get(seqKey(Table.Message, t.id, e.seq));
      if (raw) dropFromLog(tx, t, e.seq, raw);
      else c.untrack(e);
      continue;
    }
    leaving.push({
      seq: e.seq,
      lane: e.lane,
      attempts: e.attempts,
      reason: e.reason ?? "lease_expired",
      error: e.error ?? "",
      entry: e,
    });
  }
  deadLetter(tx, t, c, leaving);
  tx.touchCursor(c);
}

export { messageOrderingKey };
