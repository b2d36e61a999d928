import type { KvReader, KvWriter } from "../kv/kv.js";
import type { LeasedRecord, LeaseOptions, SubscriptionRecord } from "../store.js";
import { FailedDeliveries } from "./dead-letter.js";
import {
  decodeU32,
  dueKey,
  encodeU32,
  idKey,
  keyAfter,
  parseDueKey,
  parseReadyKey,
  prefixEnd,
  readyKey,
  seqKey,
  Table,
} from "./keys.js";
import { decodeMessage, messageOrderingKeyBytes } from "./message-codec.js";
import { leftSubscription } from "./ordering.js";
import {
  type Counters,
  encodePending,
  formatToken,
  getPending,
  readCounters,
  readHead,
  requireSubscription,
  topicById,
  writeCounters,
  writeHead,
} from "./records.js";
import { releaseMessage } from "./retention.js";

const EMPTY = Buffer.alloc(0);
/** Most due entries (expired leases, elapsed delays) moved to ready per operation. */
const PROMOTE_LIMIT = 10_000;
/**
 * Most ready entries one hand-out looks at: peeked entries stay in ready, and messages gone or
 * past their TTL are dropped on the way, so this bounds the work of one call. (Messages of an
 * ordered subscription waiting behind their key are not in ready at all: see ordering.ts.)
 */
const SCAN_LIMIT = 10_000;

/** Moves leases past their deadline and elapsed delays of one subscription back to ready. */
export function promoteDue(w: KvWriter, subId: number, nowMs: number, c: Counters): void {
  const start = dueKey(subId, 0, 0);
  const end = dueKey(subId, nowMs + 1, 0);
  const failed = new FailedDeliveries(w, subId, nowMs, c);
  for (const { key } of w.range({ start, end, limit: PROMOTE_LIMIT })) {
    w.del(key);
    const { dueMs, seq } = parseDueKey(key);
    const p = getPending(w, subId, seq);
    if (!p || Math.ceil(p.dueMs) !== dueMs) continue;
    w.del(seqKey(Table.Pending, subId, seq));
    if (p.state === "leased") c.inFlight--;
    else c.delayed--;
    // An expired lease: retry backoff, or out after max delivery attempts (dead-letter.ts).
    if (p.state === "leased" && failed.leaseExpired(seq, p, c)) continue;
    w.put(readyKey(subId, p.priority, seq), encodeU32(p.attempt));
  }
  failed.finish();
}

/** True when a lease call on the subscription could return something at `nowMs` (read-only check). */
export function mayHaveAvailable(r: KvReader, subId: number, nowMs: number): boolean {
  const ready = idKey(Table.Ready, subId);
  if (r.range({ start: ready, end: prefixEnd(ready), limit: 1 }).length > 0) return true;
  return r.range({ start: dueKey(subId, 0, 0), end: dueKey(subId, nowMs + 1, 0), limit: 1 }).length > 0;
}

/** Leases (or, with autoAck, hands out and settles) up to `max` available messages. */
export function leaseRecords(w: KvWriter, subscription: string, o: LeaseOptions): LeasedRecord[] {
  const sub = requireSubscription(w, subscription);
  return handOut(w, sub, o.max, o.nowMs, o.autoAck ? "auto-ack" : { leaseMs: o.leaseMs });
}

/** Lists up to `max` available messages in delivery order without leasing them. */
export function peekRecords(w: KvWriter, subscription: string, max: number, nowMs: number): LeasedRecord[] {
  const sub = requireSubscription(w, subscription);
  return handOut(w, sub, max, nowMs, "peek");
}

function handOut(
  w: KvWriter,
  sub: SubscriptionRecord,
  max: number,
  nowMs: number,
  mode: "peek" | "auto-ack" | { leaseMs: number },
): LeasedRecord[] {
  const topic = topicById(w, sub.topicId);
  if (!topic) return [];
  const c = readCounters(w, sub.id);
  promoteDue(w, sub.id, nowMs, c);
  const head = readHead(w, topic.id); // after promoteDue: dead-lettering releases messages
  let headChanged = false;
  const out: LeasedRecord[] = [];
  const peeked = new Set<number>();
  // Ordered, auto-ack: the keys pass on after the call, so it hands out one message per key.
  const autoAcked: { seq: number; key: Buffer }[] = [];
  let scanned = 0;
  const first = idKey(Table.Ready, sub.id);
  const end = prefixEnd(first);
  let start = first;
  while (out.length < max && scanned < SCAN_LIMIT) {
    const batch = w.range({ start, end, limit: Math.min(1000, max - out.length) });
    if (batch.length === 0) break;
    scanned += batch.length;
    let rewind = false;
    for (const { key, value } of batch) {
      const { priority, seq } = parseReadyKey(key);
      if (peeked.has(seq)) continue;
      const attempt = decodeU32(value) + 1;
      const raw = w.get(seqKey(Table.Message, topic.id, seq));
      const expired = raw !== undefined && raw.readDoubleBE(18) > 0 && raw.readDoubleBE(18) <= nowMs;
      if (!raw || expired) {
        // Gone or past its TTL: never delivered, dropped from this subscription.
        w.del(key);
        c.unacked--;
        if (raw) {
          if (sub.ordered) {
            // Its key passes to the next message, which may sort before this point: look again.
            leftSubscription(w, sub, seq, messageOrderingKeyBytes(raw), nowMs, c);
            rewind = true;
          }
          releaseMessage(w, topic, head, seq, nowMs);
          headChanged = true;
        }
        continue;
      }
      const message = decodeMessage(raw, topic.name, seq);
      if (mode === "peek") {
        peeked.add(seq);
        out.push({ token: "", message, attempt });
        continue;
      }
      w.del(key);
      if (mode === "auto-ack") {
        c.unacked--;
        if (sub.ordered) autoAcked.push({ seq, key: messageOrderingKeyBytes(raw) });
        releaseMessage(w, topic, head, seq, nowMs);
        headChanged = true;
        out.push({ token: "", message, attempt });
        continue;
      }
      const dueMs = nowMs + mode.leaseMs;
      w.put(seqKey(Table.Pending, sub.id, seq), encodePending({ state: "leased", dueMs, attempt, priority }));
      w.put(dueKey(sub.id, dueMs, seq), EMPTY);
      c.inFlight++;
      out.push({ token: formatToken({ subId: sub.id, seq, attempt, priority }), message, attempt });
    }
    // Peeked entries stay in ready: continue after the batch (or from the start, see above).
    start = rewind ? first : keyAfter((batch[batch.length - 1] as { key: Buffer }).key);
  }
  for (const { seq, key } of autoAcked) leftSubscription(w, sub, seq, key, nowMs, c);
  writeCounters(w, sub.id, c);
  if (headChanged) writeHead(w, topic.id, head);
  return out;
}

/** The earliest due time (lease deadline or delay) of a subscription. */
export function nextDue(r: KvReader, subId: number): number | undefined {
  const start = dueKey(subId, 0, 0);
  const [first] = r.range({ start, end: prefixEnd(idKey(Table.Due, subId)), limit: 1 });
  return first ? parseDueKey(first.key).dueMs : undefined;
}
