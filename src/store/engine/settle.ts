/**
 * Ack, nack and extend by lease token or message id. A lease lives in the cursor's memory: the
 * token names the message and its attempt, so a token of an older lease is stale, and a lease
 * that expired without being handed out again can still be acked. Acks write the cursor (floor
 * and ranges) once per call; a nack writes the message's attempts and delay.
 */
import type { KvReader } from "../kv/kv.js";
import type { NackOptions, SettleOutcome, SettleTargets } from "../store.js";
import type { Cursor, Entry, LeaseBatch } from "./cursor.js";
import { backoffMs, deadLetter, exhausts, type Leaving, routeOf } from "./dead-letter.js";
import { parseGeneratedId } from "./generated-id.js";
import { idStringKey, seqKey, Table } from "./keys.js";
import { type MessageMeta, messageAttributes, messageId, messageMeta } from "./message-codec.js";
import { isGone } from "./release.js";
import { settleHeld } from "./settle-held.js";
import type { EngineState, TopicState } from "./state.js";
import { decodeMessageIdEntry } from "./table-values.js";
import { type LeaseToken, parseTokenInto } from "./tokens.js";
import type { Tx } from "./tx.js";

/** A message found on a cursor: tracked (entry), or held but untracked (meta read from the log). */
interface Located {
  seq: number;
  lane: number;
  /** Attempts so far (a leased entry: including its lease). */
  attempts: number;
  entry: Entry | undefined;
  meta: MessageMeta;
}

/** Reads a held, untracked message; undefined when the cursor does not hold it. */
function locateUntracked(state: EngineState, r: KvReader, t: TopicState, c: Cursor, seq: number): Located | undefined {
  if (isGone(t, seq)) return undefined;
  const raw = r.get(seqKey(Table.Message, t.id, seq));
  if (!raw) return undefined;
  const meta = messageMeta(raw);
  if (!c.holds(seq, meta.priority, meta.onlyFor, () => messageAttributes(raw))) return undefined;
  const attempts = c.untrackedAttempts(seq, meta.priority, meta.deliverAtMs, state.loadedMs);
  return { seq, lane: meta.priority, attempts, entry: undefined, meta };
}

/** Where a parsed token is written (one at a time: the engine runs one operation at a time). */
const SCRATCH: LeaseToken = { subId: 0, seq: 0, attempt: 0, priority: 0 };

/** Can the tracked entry a token names be settled by it ("ok"), or why not. */
function trackedOutcome(e: Entry, tok: LeaseToken): SettleOutcome {
  if (e.lane !== tok.priority || e.state === "waiting" || e.state === "gone") return "unknown";
  return e.attempts === tok.attempt ? "ok" : "stale";
}

/** Finds the message a token names, with the outcome when it cannot be settled. */
export function locateToken(
  state: EngineState,
  r: KvReader,
  t: TopicState,
  c: Cursor,
  token: string,
): Located | SettleOutcome {
  const tok = SCRATCH;
  if (!parseTokenInto(token, tok) || tok.subId !== c.id) return "malformed";
  const e = c.tracked.get(tok.seq);
  if (e) {
    const outcome = trackedOutcome(e, tok);
    return outcome === "ok" ? { seq: e.seq, lane: e.lane, attempts: e.attempts, entry: e, meta: e.meta } : outcome;
  }
  const loc = locateUntracked(state, r, t, c, tok.seq);
  if (!loc || loc.lane !== tok.priority) return "unknown";
  // Back on the cursor after its lease expired (or a restart): good until leased again.
  return loc.attempts === tok.attempt ? loc : "stale";
}

/**
 * The seq of a message id: client ids from the index, generated ids parsed and checked. With
 * `tx`, an index entry found is noted on it (see Tx.idFound), so the release that drops it reads
 * it once: only for a caller that releases right after the lookup and writes no id entry between.
 */
function messageIdSeq(r: KvReader, t: TopicState, id: string, tx?: Tx): number | undefined {
  const key = idStringKey(Table.MessageId, t.id, id);
  // A view: decoded at once, before any other read.
  const entry = decodeMessageIdEntry(r.view(key));
  if (entry) {
    if (tx) tx.idFound = { topicId: t.id, id, key, seq: entry.seq, expireMs: entry.expireMs };
    return entry.seq;
  }
  const generated = parseGeneratedId(id);
  if (!generated || generated.topicId !== t.id) return undefined;
  const raw = r.view(seqKey(Table.Message, t.id, generated.seq));
  return raw && messageId(raw) === id ? generated.seq : undefined;
}

/** Finds a message by id on a cursor (leased, available, delayed, or waiting behind its key). */
export function locateMessageId(state: EngineState, r: KvReader, t: TopicState, c: Cursor, id: string, tx?: Tx) {
  const seq = messageIdSeq(r, t, id, tx);
  if (seq === undefined) return "unknown" as const;
  const e = c.tracked.get(seq);
  if (e) {
    if (e.state === "gone") return "unknown" as const;
    return { seq, lane: e.lane, attempts: e.attempts, entry: e, meta: e.meta };
  }
  return locateUntracked(state, r, t, c, seq) ?? ("unknown" as const);
}

type Action = (loc: Located) => SettleOutcome;

function settleEach(tx: Tx, t: TopicState, c: Cursor, targets: SettleTargets, act: Action): SettleOutcome[] {
  const out: SettleOutcome[] = [];
  for (const token of targets.tokens) {
    const loc = locateToken(tx.state, tx.w, t, c, token);
    out.push(typeof loc === "string" ? loc : act(loc));
  }
  for (const id of targets.messageIds) {
    // No tx: a nack's dead letters append between the lookup and the release (see Tx.idFound).
    const loc = locateMessageId(tx.state, tx.w, t, c, id);
    out.push(typeof loc === "string" ? loc : act(loc));
  }
  return out;
}

/**
 * Acks: the messages leave the subscription, and the log once nobody holds them. A token of a
 * tracked lease (the common case) settles straight from its entry, with no object per token.
 */
export function ackTargets(tx: Tx, subscription: string, targets: SettleTargets): SettleOutcome[] {
  const c = tx.state.requireCursor(subscription);
  const t = tx.state.topicOf(c);
  const out: SettleOutcome[] = new Array(targets.tokens.length + targets.messageIds.length);
  let i = 0;
  for (const token of targets.tokens) {
    const tok = SCRATCH;
    const e = parseTokenInto(token, tok) && tok.subId === c.id ? c.tracked.get(tok.seq) : undefined;
    if (e) {
      const outcome = trackedOutcome(e, tok);
      if (outcome === "ok") settleHeld(tx, t, c, e.seq, e.lane, e.meta, e);
      out[i++] = outcome;
      continue;
    }
    const loc = locateToken(tx.state, tx.w, t, c, token);
    if (typeof loc !== "string") settleHeld(tx, t, c, loc.seq, loc.lane, loc.meta, loc.entry);
    out[i++] = typeof loc === "string" ? loc : "ok";
  }
  for (const id of targets.messageIds) {
    const loc = locateMessageId(tx.state, tx.w, t, c, id, tx);
    if (typeof loc !== "string") settleHeld(tx, t, c, loc.seq, loc.lane, loc.meta, loc.entry);
    // Noted for this id's release only; a release that never got to it must not see it later.
    tx.idFound = undefined;
    out[i++] = typeof loc === "string" ? loc : "ok";
  }
  return out;
}

/**
 * Nacks: the messages become available again at `redeliverAtMs`. With `failed`, the retry
 * backoff applies and a message that used up its attempts leaves for the dead-letter topic. A
 * message of an ordered subscription waiting behind its key (named by id) stays in line.
 */
export function nackTargets(
  tx: Tx,
  subscription: string,
  targets: SettleTargets,
  redeliverAtMs: number,
  options: NackOptions = {},
): SettleOutcome[] {
  const c = tx.state.requireCursor(subscription);
  const t = tx.state.topicOf(c);
  const now = tx.nowMs;
  const leaving: Leaving[] = [];
  const out = settleEach(tx, t, c, targets, (loc) => {
    const e = loc.entry;
    if (e && (e.state === "waiting" || e.state === "exhausted")) return "ok"; // in line / already on its way out
    let at = redeliverAtMs;
    if (options.failed) {
      if (exhausts(tx.state, c, loc.attempts)) {
        if (e) c.move(e, "exhausted");
        leaving.push({ ...loc, reason: "nacked", error: options.error ?? "" });
        return "ok";
      }
      if (at <= now) at = now + backoffMs(c, loc.seq, loc.attempts);
    }
    makeAvailable(tx, c, loc, at);
    return "ok";
  });
  deadLetter(tx, t, c, leaving);
  return out;
}

/** Puts a message back on the cursor: available at `at` (≤ now: at once), else delayed until then. */
function makeAvailable(tx: Tx, c: Cursor, loc: Located, at: number): void {
  const e = loc.entry;
  const dueMs = at > tx.nowMs ? at : 0;
  if (e) {
    if (dueMs > 0) c.move(e, "delayed", dueMs);
    else c.move(e, "ready");
    e.persisted = true;
  } else if (dueMs > 0 || loc.attempts > 0) {
    c.setKnown(loc.seq, { attempts: loc.attempts, dueMs, persisted: true });
  }
  if (e || dueMs > 0 || loc.attempts > 0) c.persistState(loc.seq, loc.attempts, dueMs);
  tx.touchCursor(c);
}

/**
 * Deliveries that can never succeed as they are (see Store.reject): each leaves the subscription
 * at once, whatever its attempts, for the dead-letter topic (reason `undeliverable`) or dropped
 * when none is set. One whose dead-letter topic is set but cannot take it stays, available again
 * after the retry backoff, as after a failed nack. Returns the per-token outcomes and how many left.
 */
export function rejectTokens(
  tx: Tx,
  subscription: string,
  tokens: readonly string[],
  error: string,
): { outcomes: SettleOutcome[]; left: number } {
  const c = tx.state.requireCursor(subscription);
  const t = tx.state.topicOf(c);
  const leaving: Leaving[] = [];
  const outcomes = settleEach(tx, t, c, { tokens, messageIds: [] }, (loc) => {
    const e = loc.entry;
    if (e?.state === "exhausted") return "ok"; // named twice: already on its way out
    if (routeOf(tx.state, c) === "keep") {
      makeAvailable(tx, c, loc, tx.nowMs + backoffMs(c, loc.seq, loc.attempts));
      return "ok";
    }
    if (e) c.move(e, "exhausted");
    leaving.push({ ...loc, reason: "undeliverable", error });
    return "ok";
  });
  const left = deadLetter(tx, t, c, leaving);
  return { outcomes, left: left.size };
}

/**
 * Extends leases to `untilMs` (in memory: leases are not written). A lease that expired but was
 * not handed out again is renewed; a delayed message is not leased (unknown).
 */
export function extendTokens(
  state: EngineState,
  r: KvReader,
  subscription: string,
  tokens: readonly string[],
  untilMs: number,
): SettleOutcome[] {
  const c = state.requireCursor(subscription);
  const t = state.topicOf(c);
  return tokens.map((token) => {
    const loc = locateToken(state, r, t, c, token);
    if (typeof loc === "string") return loc;
    const e = loc.entry;
    if (!e || (e.state !== "leased" && e.state !== "ready")) return "unknown";
    const batch: LeaseBatch = { deadlineMs: untilMs, seqs: [e.seq], alive: 1 };
    c.move(e, "leased", untilMs);
    e.batch = batch;
    c.addBatch(batch);
    return "ok";
  });
}
