/**
 * Retry policy and dead letters on cursors: the backoff after a failed delivery, and what
 * happens to a message once it used up `max_delivery_attempts`: appended to the dead-letter topic
 * and settled on its subscription in the same transaction (a dead letter exists exactly when the
 * source no longer holds the message), or dropped when no dead-letter topic is set.
 */
import { BrokerError } from "../../errors/index.js";
import { jitterFraction, retryBackoffMs } from "../../util/backoff.js";
import { DEAD_LETTER_ATTRIBUTES as A, type DeadLetterReason } from "../dead-letters.js";
import type { AppendRecord } from "../store.js";
import { appendRecords, keepsMessage, takers } from "./append.js";
import type { Cursor, Entry } from "./cursor.js";
import { seqKey, Table } from "./keys.js";
import { decodeMessage, type MessageMeta, messageMeta } from "./message-codec.js";
import { leaveLine } from "./ordering-lines.js";
import { settleHeld } from "./settle-held.js";
import type { EngineState, TopicState } from "./state.js";
import type { Tx } from "./tx.js";

/**
 * Where a subscription's exhausted messages go: dropped (no dead-letter topic set), the
 * dead-letter topic, or kept in place when the dead-letter topic is set but cannot take them
 * (deleted, the subscription's own, or it would store nothing): a message is never lost because
 * its dead-letter topic is missing.
 */
export type Route = "drop" | "keep" | TopicState;

/** Where the subscription's exhausted messages go now (see {@link Route}). */
export function routeOf(state: EngineState, c: Cursor): Route {
  const name = c.record.deadLetterTopic;
  if (name === "") return "drop";
  const dlq = state.topics.get(name);
  if (!dlq || dlq.id === c.record.topicId || !keepsMessage(dlq, [...dlq.cursors.values()])) return "keep";
  return dlq;
}

/** Does a delivery that failed after `attempts` attempts use up the subscription's attempts? */
export function exhausts(state: EngineState, c: Cursor, attempts: number): boolean {
  const max = c.record.maxDeliveryAttempts;
  return max > 0 && attempts >= max && routeOf(state, c) !== "keep";
}

/** The wait before the next delivery after `attempts` failed ones; 0: at once. */
export function backoffMs(c: Cursor, seq: number, attempts: number): number {
  return retryBackoffMs(c.record.retry, attempts, jitterFraction(c.id, seq, attempts));
}

/** A message leaving its subscription after its last attempt. */
export interface Leaving {
  seq: number;
  lane: number;
  attempts: number;
  reason: DeadLetterReason;
  error: string;
  /** The tracked entry, when the cursor tracks it. */
  entry: Entry | undefined;
}

/** Makes a message that could not leave available again. */
function keep(c: Cursor, x: Leaving): void {
  if (x.entry && c.tracked.get(x.seq) === x.entry) c.move(x.entry, "ready");
}

/**
 * Moves messages that used up their attempts out of the subscription: appended to the
 * dead-letter topic (or dropped when none is set), then settled. When the dead-letter topic
 * refuses them (a limit) or would store a letter nowhere (every subscription filters it out),
 * they stay, available again: nothing is lost. Returns the seqs that left the subscription
 * (dead-lettered, dropped, or past their TTL).
 */
export function deadLetter(tx: Tx, t: TopicState, c: Cursor, leaving: readonly Leaving[]): Set<number> {
  const left = new Set<number>();
  if (leaving.length === 0) return left;
  const route = routeOf(tx.state, c);
  if (route === "keep") {
    for (const x of leaving) keep(c, x);
    return left;
  }
  const dlq = route === "drop" ? undefined : route;
  const letters: AppendRecord[] = [];
  const out: { x: Leaving; meta: MessageMeta; counted: boolean }[] = [];
  for (const x of leaving) {
    const raw = tx.w.get(seqKey(Table.Message, t.id, x.seq));
    if (!raw) {
      if (x.entry && c.tracked.get(x.seq) === x.entry) {
        c.untrack(x.entry);
        leaveLine(c, x.seq, x.entry.key, tx.nowMs);
      }
      left.add(x.seq); // already gone from the log
      continue;
    }
    const meta = messageMeta(raw);
    if (meta.expireAtMs > 0 && meta.expireAtMs <= tx.nowMs) {
      out.push({ x, meta, counted: false }); // past its TTL: dropped as expired, not dead-lettered
      continue;
    }
    if (!dlq) {
      out.push({ x, meta, counted: true });
      continue;
    }
    const letter = deadLetterRecord(decodeMessage(raw, t.name, x.seq), c, x);
    if (takers(dlq, letter.attributes).length === 0 && dlq.record.retainAckedMs <= 0) {
      keep(c, x); // the dead-letter topic would store it nowhere
      continue;
    }
    letters.push(letter);
    out.push({ x, meta, counted: true });
  }
  if (dlq && letters.length > 0) {
    try {
      appendRecords(tx, dlq.name, letters);
    } catch (e) {
      if (!(e instanceof BrokerError)) throw e;
      for (const { x } of out) keep(c, x);
      return left;
    }
  }
  for (const { x, meta, counted } of out) {
    settleHeld(tx, t, c, x.seq, x.lane, meta, x.entry);
    if (counted) c.deadLettered++;
    left.add(x.seq);
  }
  tx.touchCursor(c);
  return left;
}

/** The dead letter of a message: its own data, attributes and order, plus where it came from. */
function deadLetterRecord(m: ReturnType<typeof decodeMessage>, c: Cursor, x: Leaving): AppendRecord {
  const attributes: Record<string, string> = {
    ...m.attributes,
    [A.sourceTopic]: c.record.topic,
    [A.sourceSubscription]: c.record.name,
    [A.sourceSeq]: String(x.seq),
    [A.sourceId]: m.id,
    [A.attempts]: String(x.attempts),
    [A.reason]: x.reason,
  };
  if (x.error !== "") attributes[A.lastError] = x.error;
  // A new (generated) id on the dead-letter topic: a client id could be deduplicated away there.
  return {
    id: "",
    data: Buffer.from(m.data),
    attributes,
    priority: m.priority,
    orderingKey: m.orderingKey,
    deliverAtMs: 0,
    expireAtMs: 0,
  };
}
