/** Reading a topic's stored log: pages from a seq, and the first seq at or after a time. */
import type { KvReader } from "../kv/kv.js";
import type { LogPage } from "../replay-store.js";
import { keySeq, seqKey, Table } from "./keys.js";
import { decodeMessage, messageDataBytes, messageExpireAt, messagePublishTime } from "./message-codec.js";
import { isGone, liveKeys } from "./release.js";
import type { EngineState, TopicState } from "./state.js";

/** The first stored message of a topic at seq ≥ `seq`. */
function firstStoredFrom(r: KvReader, t: TopicState, seq: number): { seq: number; raw: Buffer } | undefined {
  const [first] = liveKeys(r, t, seq, t.head.lastSeq + 1, 1);
  const raw = first && r.view(first);
  return first && raw ? { seq: keySeq(first), raw } : undefined;
}

/**
 * The first stored seq published at or after `timeMs` (lastSeq + 1 when none), by binary search
 * over seqs: O(log lastSeq) single-entry range reads, never a scan of the log. Publish times are
 * the broker clock at append, so they do not decrease along the log while the clock does not
 * step back; after a backward step the answer is a seq where the times cross `timeMs`.
 */
export function seqAtTimeIn(r: KvReader, t: TopicState, timeMs: number): number {
  const { lastSeq } = t.head;
  // P(x): the first stored message at seq ≥ x is published at or after timeMs (or there is none).
  const holds = (x: number) => {
    const e = firstStoredFrom(r, t, x);
    return !e || messagePublishTime(e.raw) >= timeMs;
  };
  let lo = t.head.logStart;
  let hi = lastSeq + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(mid)) hi = mid;
    else lo = mid + 1;
  }
  return firstStoredFrom(r, t, lo)?.seq ?? lastSeq + 1;
}

/** Up to `max` stored, unexpired messages from `fromSeq`, stopping once `maxBytes` of data is reached. */
export function readLogPage(
  r: KvReader,
  state: EngineState,
  topicName: string,
  fromSeq: number,
  max: number,
  maxBytes: number,
  nowMs: number,
): LogPage {
  const t = state.requireTopic(topicName);
  // Keys first, then each message as a view: only what the page returns is copied.
  const entries = r.keys({
    start: seqKey(Table.Message, t.id, Math.max(1, fromSeq, t.head.logStart)),
    end: seqKey(Table.Message, t.id, t.durableSeq + 1),
    limit: max,
  });
  const messages: LogPage["messages"] = [];
  let bytes = 0;
  let nextSeq = fromSeq;
  for (const key of entries) {
    const value = r.view(key);
    if (!value) continue;
    const size = isGone(t, keySeq(key)) ? 0 : messageDataBytes(value);
    if (messages.length > 0 && bytes + size > maxBytes) return { messages, nextSeq, end: false };
    const seq = keySeq(key);
    nextSeq = seq + 1;
    if (isGone(t, seq)) continue; // released: gone, its entry waits for the trim
    const expireAt = messageExpireAt(value);
    if (expireAt > 0 && expireAt <= nowMs) continue; // past its TTL: never handed out
    bytes += size;
    messages.push(decodeMessage(Buffer.from(value), t.name, seq));
  }
  return { messages, nextSeq, end: entries.length < max };
}
