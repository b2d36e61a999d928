import type { KvWriter } from "../kv/kv.js";
import type { LeasedRecord } from "../store.js";
import { promoteDue } from "./delivery.js";
import { decodeU32, idKey, parseReadyKey, prefixEnd, seqKey, Table } from "./keys.js";
import { decodeMessage } from "./message-codec.js";
import { readCounters, requireSubscription, topicById, writeCounters } from "./records.js";

/** Most ready entries one call looks at. */
const SCAN_LIMIT = 10_000;

/**
 * Lists up to `max` available messages from the back of the delivery order (the one that would
 * be delivered last first), without leasing them. Messages gone or past their TTL are skipped
 * (a lease from the front drops them). Like a peek from the front, it looks at no more than
 * {@link SCAN_LIMIT} entries, and ordering keys do not apply (nothing is handed out). On an ordered
 * subscription the messages waiting behind their key's active one are not available, so not listed.
 */
export function peekBackRecords(w: KvWriter, subscription: string, max: number, nowMs: number): LeasedRecord[] {
  const sub = requireSubscription(w, subscription);
  const topic = topicById(w, sub.topicId);
  if (!topic) return [];
  const c = readCounters(w, sub.id);
  promoteDue(w, sub.id, nowMs, c);
  writeCounters(w, sub.id, c);
  const out: LeasedRecord[] = [];
  const start = idKey(Table.Ready, sub.id);
  let end = prefixEnd(start);
  let scanned = 0;
  while (out.length < max && scanned < SCAN_LIMIT) {
    const batch = w.range({ start, end, limit: Math.min(1000, max - out.length), reverse: true });
    if (batch.length === 0) break;
    scanned += batch.length;
    for (const { key, value } of batch) {
      const { seq } = parseReadyKey(key);
      const raw = w.get(seqKey(Table.Message, topic.id, seq));
      if (!raw) continue;
      const message = decodeMessage(raw, topic.name, seq);
      if (message.expireAtMs > 0 && message.expireAtMs <= nowMs) continue;
      out.push({ token: "", message, attempt: decodeU32(value) + 1 });
    }
    end = (batch[batch.length - 1] as { key: Buffer }).key;
  }
  return out;
}
