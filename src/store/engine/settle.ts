import type { KvWriter } from "../kv/kv.js";
import type { NackOptions, SettleOutcome, SettleTargets, SubscriptionRecord, TopicRecord } from "../store.js";
import { FailedDeliveries } from "./dead-letter.js";
import { parseGeneratedId } from "./generated-id.js";
import { decodeU32, dueKey, encodeU32, idStringKey, readyKey, seqKey, Table } from "./keys.js";
import { messageId, messageOrderingKeyBytes, messagePriority } from "./message-codec.js";
import { getWaiting, leftSubscription, unlinkWaiting, type Waiting } from "./ordering.js";
import {
  type Counters,
  encodePending,
  getPending,
  type Pending,
  parseToken,
  readCounters,
  readHead,
  readMessageIdEntry,
  requireSubscription,
  topicById,
  writeCounters,
  writeHead,
} from "./records.js";
import { releaseMessage } from "./retention.js";

const EMPTY = Buffer.alloc(0);

/**
 * Where a message of a subscription is: leased/delayed (pending), available (ready), or (ordered,
 * by message id only) waiting behind its ordering key's active message.
 */
type Located = {
  seq: number;
  priority: number;
  pending?: Pending;
  readyAttempts?: number;
  waiting?: Waiting;
};

function locateToken(w: KvWriter, sub: SubscriptionRecord, token: string): Located | SettleOutcome {
  const t = parseToken(token);
  if (!t || t.subId !== sub.id) return "malformed";
  const p = getPending(w, sub.id, t.seq);
  if (p) return p.attempt === t.attempt ? { seq: t.seq, priority: p.priority, pending: p } : "stale";
  const ready = w.get(readyKey(sub.id, t.priority, t.seq));
  if (!ready) return "unknown";
  // Back in ready after its lease expired: the token is still good until someone leases it again.
  const attempts = decodeU32(ready);
  return attempts === t.attempt ? { seq: t.seq, priority: t.priority, readyAttempts: attempts } : "stale";
}

/** The seq of a message id: client ids from the index, generated ids parsed and checked. */
function messageIdSeq(w: KvWriter, topic: TopicRecord, id: string): number | undefined {
  const entry = readMessageIdEntry(w.get(idStringKey(Table.MessageId, topic.id, id)));
  if (entry) return entry.seq;
  const generated = parseGeneratedId(id);
  if (!generated || generated.topicId !== topic.id) return undefined;
  const raw = w.get(seqKey(Table.Message, topic.id, generated.seq));
  return raw && messageId(raw) === id ? generated.seq : undefined;
}

function locateMessageId(w: KvWriter, sub: SubscriptionRecord, topic: TopicRecord, id: string): Located | "unknown" {
  const seq = messageIdSeq(w, topic, id);
  if (seq === undefined) return "unknown";
  const p = getPending(w, sub.id, seq);
  if (p) return { seq, priority: p.priority, pending: p };
  const raw = w.get(seqKey(Table.Message, topic.id, seq));
  if (!raw) return "unknown";
  const priority = messagePriority(raw);
  const ready = w.get(readyKey(sub.id, priority, seq));
  if (ready) return { seq, priority, readyAttempts: decodeU32(ready) };
  const waiting = sub.ordered ? getWaiting(w, sub.id, seq) : undefined;
  return waiting ? { seq, priority, waiting } : "unknown";
}

/** Takes a located message out of the subscription's pending, ready or waiting set. Returns its attempt count. */
function detach(w: KvWriter, subId: number, loc: Located, c: Counters): number {
  if (loc.waiting) {
    unlinkWaiting(w, subId, loc.seq, loc.waiting);
    return loc.waiting.attempts;
  }
  if (loc.pending) {
    w.del(seqKey(Table.Pending, subId, loc.seq));
    w.del(dueKey(subId, loc.pending.dueMs, loc.seq));
    if (loc.pending.state === "leased") c.inFlight--;
    else c.delayed--;
    return loc.pending.attempt;
  }
  w.del(readyKey(subId, loc.priority, loc.seq));
  return loc.readyAttempts ?? 0;
}

type Action = (loc: Located, ctx: { sub: SubscriptionRecord; topic: TopicRecord; c: Counters }) => SettleOutcome;

function settle(w: KvWriter, subscription: string, targets: SettleTargets, act: Action) {
  const sub = requireSubscription(w, subscription);
  const topic = topicById(w, sub.topicId) as TopicRecord;
  const c = readCounters(w, sub.id);
  const ctx = { sub, topic, c };
  const out: SettleOutcome[] = [];
  for (const token of targets.tokens) {
    const loc = locateToken(w, sub, token);
    out.push(typeof loc === "string" ? loc : act(loc, ctx));
  }
  for (const id of targets.messageIds) {
    const loc = locateMessageId(w, sub, topic, id);
    out.push(typeof loc === "string" ? loc : act(loc, ctx));
  }
  writeCounters(w, sub.id, c);
  return { out, ctx };
}

/**
 * Acks: the messages leave the subscription (and the log, once no subscription holds them); on an
 * ordered subscription an acked active message passes its key to the next one at once, so a
 * later target of the same call finds that one where it now is.
 */
export function ackTargets(w: KvWriter, subscription: string, targets: SettleTargets, nowMs: number) {
  const released: number[] = [];
  const { out, ctx } = settle(w, subscription, targets, (loc, { sub, topic, c }) => {
    detach(w, sub.id, loc, c);
    c.unacked--;
    released.push(loc.seq);
    const raw = sub.ordered ? w.get(seqKey(Table.Message, topic.id, loc.seq)) : undefined;
    if (raw) leftSubscription(w, sub, loc.seq, messageOrderingKeyBytes(raw), nowMs, c);
    return "ok";
  });
  if (released.length === 0) return out;
  const head = readHead(w, ctx.topic.id);
  for (const seq of released) releaseMessage(w, ctx.topic, head, seq, nowMs);
  writeHead(w, ctx.topic.id, head);
  return out;
}

/**
 * Nacks: the messages become available again at `redeliverAtMs`. A message of an ordered
 * subscription waiting behind its key (named by id) was never delivered: it stays in line.
 */
export function nackTargets(
  w: KvWriter,
  subscription: string,
  targets: SettleTargets,
  redeliverAtMs: number,
  nowMs: number,
  options: NackOptions = {},
): SettleOutcome[] {
  let failed: FailedDeliveries | undefined;
  const { out } = settle(w, subscription, targets, (loc, { sub, c }) => {
    // Waiting behind its ordering key: not delivered, nothing to redeliver; it stays in line.
    if (loc.waiting) return "ok";
    const attempt = detach(w, sub.id, loc, c);
    let at = redeliverAtMs;
    if (options.failed) {
      // A failed delivery: out after max attempts, else the retry backoff unless a delay was given.
      failed ??= new FailedDeliveries(w, sub.id, nowMs);
      if (failed.takeIfExhausted(loc.seq, loc.priority, attempt, "nacked", options.error)) return "ok";
      if (at <= nowMs) at = nowMs + failed.backoffMs(loc.seq, attempt);
    }
    makeAvailable(w, sub.id, loc, attempt, at, nowMs, c);
    return "ok";
  });
  (failed as FailedDeliveries | undefined)?.finish();
  return out;
}

/** Puts a detached message back: available at `at` (≤ now: at once), else delayed until then. */
function makeAvailable(
  w: KvWriter,
  subId: number,
  loc: Located,
  attempt: number,
  at: number,
  nowMs: number,
  c: Counters,
) {
  if (at <= nowMs) {
    w.put(readyKey(subId, loc.priority, loc.seq), encodeU32(attempt));
    return;
  }
  const p: Pending = { state: "delayed", dueMs: at, attempt, priority: loc.priority };
  w.put(seqKey(Table.Pending, subId, loc.seq), encodePending(p));
  w.put(dueKey(subId, at, loc.seq), EMPTY);
  c.delayed++;
}

/**
 * Deliveries that can never succeed as they are (see Store.reject): each leaves the subscription
 * at once, whatever its attempts, for the dead-letter topic (reason `undeliverable`) or dropped
 * when none is set. One whose dead-letter topic cannot take it stays, as after a failed nack.
 * Returns the per-token outcomes and how many left.
 */
export function rejectTokens(
  w: KvWriter,
  subscription: string,
  tokens: readonly string[],
  nowMs: number,
  error: string,
): { outcomes: SettleOutcome[]; left: number } {
  let failed: FailedDeliveries | undefined;
  const taken: number[] = [];
  const { out } = settle(w, subscription, { tokens, messageIds: [] }, (loc, { sub, c }) => {
    const attempt = detach(w, sub.id, loc, c);
    failed ??= new FailedDeliveries(w, sub.id, nowMs);
    if (failed.takeUndeliverable(loc.seq, loc.priority, attempt, error)) {
      taken.push(loc.seq);
      return "ok";
    }
    makeAvailable(w, sub.id, loc, attempt, nowMs + failed.backoffMs(loc.seq, attempt), nowMs, c);
    return "ok";
  });
  const left = (failed as FailedDeliveries | undefined)?.finish() ?? new Set<number>();
  return { outcomes: out, left: taken.filter((seq) => left.has(seq)).length };
}

/** Extends leases to `untilMs`; a lease that expired but was not handed out again is renewed. */
export function extendTokens(
  w: KvWriter,
  subscription: string,
  tokens: readonly string[],
  untilMs: number,
  _nowMs: number,
): SettleOutcome[] {
  return settle(w, subscription, { tokens, messageIds: [] }, (loc, { sub, c }) => {
    if (loc.pending && loc.pending.state !== "leased") return "unknown";
    const attempt = detach(w, sub.id, loc, c);
    const p: Pending = { state: "leased", dueMs: untilMs, attempt, priority: loc.priority };
    w.put(seqKey(Table.Pending, sub.id, loc.seq), encodePending(p));
    w.put(dueKey(sub.id, untilMs, loc.seq), EMPTY);
    c.inFlight++;
    return "ok";
  }).out;
}
