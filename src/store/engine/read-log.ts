/** Reading a topic's stored log: pages from a seq, and the first seq at or after a time. */
import type { KvReader } from "../kv/kv.js";
import type { LogPage } from "../store.js";
import { idKey, prefixEnd, readU64, seqKey, Table } from "./keys.js";
import { decodeMessage, messageDataBytes, messagePublishTime } from "./message-codec.js";
import { readHead, requireTopic } from "./records.js";
import { messageExpireAt } from "./retain.js";

/** The first stored message of a topic at seq ≥ `seq`. */
function firstStoredFrom(r: KvReader, topicId: number, seq: number): { seq: number; raw: Buffer } | undefined {
  const [first] = r.range({
    start: seqKey(Table.Message, topicId, seq),
    end: prefixEnd(idKey(Table.Message, topicId)),
    limit: 1,
  });
  return first ? { seq: readU64(first.key, 5), raw: first.value } : undefined;
}

/**
 * The first stored seq published at or after `timeMs` (lastSeq + 1 when none), by binary search
 * over seqs: O(log lastSeq) single-entry range reads, never a scan of the log. Publish times are
 * the broker clock at append, so they do not decrease along the log while the clock does not
 * step back; after a backward step the answer is a seq where the times cross `timeMs`.
 */
export function seqAtTimeIn(r: KvReader, topicId: number, timeMs: number): number {
  const { lastSeq } = readHead(r, topicId);
  // P(x): the first stored message at seq ≥ x is published at or after timeMs (or there is none).
  const holds = (x: number) => {
    const e = firstStoredFrom(r, topicId, x);
    return !e || messagePublishTime(e.raw) >= timeMs;
  };
  let lo = 1;
  let hi = lastSeq + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid + 1;
  }
  return firstStoredFrom(r, topicId, lo)?.seq ?? lastSeq + 1;
}

/** {@link seqAtTimeIn} by topic name. */
export function seqAtTime(r: KvReader, topic: string, timeMs: number): number {
  return seqAtTimeIn(r, requireTopic(r, topic).id, timeMs);
}

/** Up to `max` stored, unexpired messages from `fromSeq`, stopping once `maxBytes` of data is reached. */
export function readLogPage(
  r: KvReader,
  topicName: string,
  fromSeq: number,
  max: number,
  maxBytes: number,
  nowMs: number,
): LogPage {
  const topic = requireTopic(r, topicName);
  const entries = r.range({
    start: seqKey(Table.Message, topic.id, Math.max(1, fromSeq)),
    end: prefixEnd(idKey(Table.Message, topic.id)),
    limit: max,
  });
  const messages: LogPage["messages"] = [];
  let bytes = 0;
  let nextSeq = fromSeq;
  for (const { key, value } of entries) {
    const size = messageDataBytes(value);
    if (messages.length > 0 && bytes + size > maxBytes) return { messages, nextSeq, end: false };
    const seq = readU64(key, 5);
    nextSeq = seq + 1;
    const expireAt = messageExpireAt(value);
    if (expireAt > 0 && expireAt <= nowMs) continue; // past its TTL: never handed out
    bytes += size;
    messages.push(decodeMessage(value, topic.name, seq));
  }
  return { messages, nextSeq, end: entries.length < max };
}
