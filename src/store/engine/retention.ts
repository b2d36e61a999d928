import type { KvWriter } from "../kv/kv.js";
import type { TopicRecord } from "../store.js";
import { decodeU32, encodeU32, idStringKey, seqKey, Table, ttlExpiryKey } from "./keys.js";
import { messageDataBytes, messageId } from "./message-codec.js";
import { type Head, readMessageIdEntry } from "./records.js";
import { retainMessage } from "./retain.js";

/**
 * One subscription let go of a message: when none holds it any more, it leaves the log.
 * `head` is updated in place; the caller writes it once per operation.
 */
export function releaseMessage(w: KvWriter, topic: TopicRecord, head: Head, seq: number, nowMs: number): void {
  const refKey = seqKey(Table.Ref, topic.id, seq);
  const raw = w.get(refKey);
  const refs = raw ? decodeU32(raw) : 1; // no Ref key: one holder
  if (refs > 1) {
    w.put(refKey, encodeU32(refs - 1));
    return;
  }
  if (retainMessage(w, topic, seq, nowMs)) return; // kept for replay (retain_acked_ms)
  deleteMessage(w, topic, head, seq, nowMs, raw !== undefined);
}

/**
 * Removes a message from the log, its refcount and (when its dedup scope is over) its id entry.
 * `hasRef: false` when the caller saw there is no Ref key (one holder): saves a delete.
 */
export function deleteMessage(
  w: KvWriter,
  topic: TopicRecord,
  head: Head,
  seq: number,
  nowMs: number,
  hasRef = true,
): void {
  const key = seqKey(Table.Message, topic.id, seq);
  const raw = w.get(key);
  if (hasRef) w.del(seqKey(Table.Ref, topic.id, seq));
  if (!raw) return;
  w.del(key);
  const expireAtMs = raw.readDoubleBE(18);
  if (expireAtMs > 0) w.del(ttlExpiryKey(expireAtMs, topic.id, seq)); // its TTL sweep entry
  head.messages = Math.max(0, head.messages - 1);
  head.bytes = Math.max(0, head.bytes - messageDataBytes(raw));
  const id = messageId(raw);
  const idKey = idStringKey(Table.MessageId, topic.id, id);
  const entry = readMessageIdEntry(w.get(idKey));
  if (!entry || entry.seq !== seq) return;
  // Window scope with a client id: the dedup-expiry sweep removes the entry once its window passed.
  if (topic.dedupScope === "unacked" || entry.expireMs <= nowMs) w.del(idKey);
}
