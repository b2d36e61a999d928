/**
 * Ordering keys on an ordered subscription (README "Ordered subscriptions"): per key a line of
 * the cursor's tracked messages (cursor.ts), one active, the rest waiting in seq order. A key's
 * next message becomes available only once its active one leaves the subscription (acked, dead
 * lettered, dropped by TTL, a topic limit or a Seek); other keys are never held up by it.
 */

import type { Cursor } from "./cursor.js";
import type { Line } from "./cursor-entry.js";

/** The line of an ordering key on `c`, created empty when missing. */
export function lineOf(c: Cursor, key: string): Line {
  let l = c.lines.get(key);
  if (!l) {
    l = { active: 0, waiting: [] };
    c.lines.set(key, l);
  }
  return l;
}

/**
 * A message of an ordered subscription left it (settled, dropped, dead-lettered) or was never
 * taken on. When it was its key's active message, the next waiting one (lowest seq) becomes
 * active: available now, or delayed until its deliver time.
 */
export function leaveLine(c: Cursor, seq: number, key: string, nowMs: number): void {
  if (!c.ordered || key === "") return;
  const line = c.lines.get(key);
  if (!line) return;
  if (line.active !== seq) {
    const i = line.waiting.indexOf(seq);
    if (i >= 0) line.waiting.splice(i, 1);
    if (line.active === 0 && line.waiting.length === 0) c.lines.delete(key);
    return;
  }
  line.active = 0;
  while (line.waiting.length > 0) {
    const nextSeq = line.waiting.shift() as number;
    const e = c.tracked.get(nextSeq);
    if (e?.state !== "waiting") continue;
    line.active = nextSeq;
    const due = e.dueMs;
    if (due > nowMs) c.move(e, "delayed", due);
    else c.move(e, "ready");
    return;
  }
  c.lines.delete(key);
}
