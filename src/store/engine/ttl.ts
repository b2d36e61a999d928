import type { KvReader, KvWriter } from "../kv/kv.js";
import { prefixEnd, readU64, seqKey, Table, tableKey, ttlExpiryKey } from "./keys.js";
import { messageExpireAt, TopicHeads } from "./retain.js";
import { dropFromLog, readTopicHolders, type TopicHolders, writeHolderCounters } from "./topic-limits.js";

const EMPTY = Buffer.alloc(0);

/**
 * Indexes a stored message with a TTL by its expiry, so the sweep drops it at that time even if
 * nobody leases it (design.md: expired messages are never delivered and are dropped).
 */
export function indexTtl(w: KvWriter, topicId: number, seq: number, expireAtMs: number): void {
  if (expireAtMs > 0) w.put(ttlExpiryKey(expireAtMs, topicId, seq), EMPTY);
}

/** Read-only: has a stored message's TTL passed at `nowMs`? */
export function ttlDue(r: KvReader, nowMs: number): boolean {
  return r.range({ start: tableKey(Table.TtlExpiry), end: ttlExpiryKey(nowMs + 1, 0, 0), limit: 1 }).length > 0;
}

/** Are there messages with a TTL at all (now or later)? */
export function hasTtl(r: KvReader): boolean {
  const start = tableKey(Table.TtlExpiry);
  return r.range({ start, end: prefixEnd(start), limit: 1 }).length > 0;
}

/**
 * Drops messages whose TTL has passed from the log and from every subscription (leased or not:
 * a lease on an expired message can only end in a dead letter or a redelivery that must not
 * happen). At most `budget` index entries; entries of messages already gone are just removed.
 */
export function sweepTtl(
  w: KvWriter,
  nowMs: number,
  budget: number,
  changed: Set<string>,
): { seen: number; removed: number } {
  const entries = w.range({ start: tableKey(Table.TtlExpiry), end: ttlExpiryKey(nowMs + 1, 0, 0), limit: budget });
  const heads = new TopicHeads(w);
  const holders = new Map<number, TopicHolders>();
  let removed = 0;
  for (const { key } of entries) {
    w.del(key);
    const topicId = key.readUInt32BE(9);
    const seq = readU64(key, 13);
    const t = heads.get(topicId);
    const raw = w.get(seqKey(Table.Message, topicId, seq));
    if (!t || !raw) continue;
    const expireAt = messageExpireAt(raw);
    if (expireAt === 0 || expireAt > nowMs) continue;
    let subs = holders.get(topicId);
    if (!subs) {
      subs = readTopicHolders(w, topicId);
      holders.set(topicId, subs);
    }
    dropFromLog(w, t.topic, t.head, subs, seq, raw, nowMs);
    changed.add(t.topic.name);
    removed++;
  }
  for (const subs of holders.values()) writeHolderCounters(w, subs);
  heads.flush();
  return { seen: entries.length, removed };
}
