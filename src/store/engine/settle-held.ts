/** Settling one held message on a cursor: the common end of an ack, an auto-ack and a dead letter. */
import type { Cursor, Entry } from "./cursor.js";
import type { MessageMeta } from "./message-codec.js";
import { leaveLine } from "./ordering-lines.js";
import { release } from "./release.js";
import type { TopicState } from "./state.js";
import type { Tx } from "./tx.js";

/**
 * The subscription lets go of a message it holds: it stops tracking it (an ordered subscription
 * passes its key on), marks it settled in its lane, counts it out, and the message is released
 * if nobody else holds it (gone at once; its entries leave the log with the trim, trim.ts).
 */
export function settleHeld(
  tx: Tx,
  t: TopicState,
  c: Cursor,
  seq: number,
  lane: number,
  meta: MessageMeta,
  entry: Entry | undefined,
): void {
  if (entry) {
    c.untrack(entry);
    leaveLine(c, seq, entry.key, tx.nowMs);
  }
  c.forget(seq);
  c.lanes[lane]?.settle(seq);
  c.countOut(seq);
  tx.touchCursor(c);
  release(tx, t, seq, meta);
}
