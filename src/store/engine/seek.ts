/**
 * Seek: moves a subscription to a seq, a time or a snapshot in one transaction. Everything is
 * read (and bounded) first, then written, so a refused Seek changes nothing.
 */

import { invalidArgument } from "../../errors/index.js";
import type { SeekTarget } from "../../model/index.js";
import type { KvWriter } from "../kv/kv.js";
import type { SubscriptionRecord, TopicRecord } from "../store.js";
import { matchesFilter } from "./fan-out.js";
import {
  dropHeld,
  heldEntries,
  offerStored,
  replayLimit,
  type StoredHeader,
  scanPrefix,
  storedHeader,
} from "./held.js";
import { idKey, readU64, seqKey, Table } from "./keys.js";
import { decodeMessage } from "./message-codec.js";
import { KeyLines } from "./ordered-seek.js";
import { seqAtTimeIn } from "./read-log.js";
import { readCounters, readHead, requireSubscription, topicById, writeCounters, writeHead } from "./records.js";
import { addHolder } from "./retain.js";
import { releaseMessage } from "./retention.js";
import { requireSnapshot, snapshotSeqs } from "./snapshots.js";

/** What the subscription should hold after the Seek: seqs ≥ `fromSeq` plus `alsoSeqs`. */
interface Goal {
  fromSeq: number;
  alsoSeqs: ReadonlySet<number>;
}

function resolveGoal(w: KvWriter, sub: SubscriptionRecord, topic: TopicRecord, target: SeekTarget): Goal {
  const { lastSeq } = readHead(w, topic.id);
  switch (target.kind) {
    case "seq":
      if (!Number.isSafeInteger(target.seq) || target.seq < 1 || target.seq > lastSeq + 1) {
        throw invalidArgument(`seq must be between 1 and ${lastSeq + 1} (the next seq), got ${target.seq}`, "seq");
      }
      return { fromSeq: target.seq, alsoSeqs: new Set() };
    case "time":
      return { fromSeq: seqAtTimeIn(w, topic.id, target.timeMs), alsoSeqs: new Set() };
    case "snapshot": {
      const snap = requireSnapshot(w, target.name);
      if (snap.topicId !== topic.id) {
        throw invalidArgument(
          `snapshot "${snap.name}" is of topic "${snap.topic}", not of "${sub.topic}" (the subscription's)`,
          "snapshot",
        );
      }
      return { fromSeq: snap.lastSeq + 1, alsoSeqs: new Set(snapshotSeqs(w, snap.id)) };
    }
  }
}

/**
 * The stored messages the goal wants (those the subscription's filter passes): seqs and
 * header fields, bounded.
 */
function wantedStored(
  w: KvWriter,
  sub: SubscriptionRecord,
  topic: TopicRecord,
  goal: Goal,
  maxEntries: number,
): Map<number, StoredHeader> {
  const topicId = topic.id;
  const filtered = Object.keys(sub.filter ?? {}).length > 0;
  const passes = (raw: Buffer, seq: number) =>
    !filtered || matchesFilter(sub.filter, decodeMessage(raw, topic.name, seq).attributes);
  const wanted = new Map<number, StoredHeader>();
  for (const seq of goal.alsoSeqs) {
    const raw = seq < goal.fromSeq ? w.get(seqKey(Table.Message, topicId, seq)) : undefined;
    if (raw && passes(raw, seq)) wanted.set(seq, storedHeader(raw));
  }
  const prefix = idKey(Table.Message, topicId);
  const from = seqKey(Table.Message, topicId, goal.fromSeq);
  // The scan itself is bounded too: past the bound, filtered out or not, the Seek is refused.
  const fromSnapshot = wanted.size;
  const scanned = scanPrefix(
    w,
    prefix,
    maxEntries - wanted.size,
    (key, value) => {
      const seq = readU64(key, 5);
      if (passes(value, seq)) wanted.set(seq, storedHeader(value));
    },
    from,
  );
  if (scanned + fromSnapshot > maxEntries) throw replayLimit("this Seek", maxEntries);
  return wanted;
}

/** Seeks a subscription (see `Store.seek`). */
export function seekSubscription(
  w: KvWriter,
  subscription: string,
  target: SeekTarget,
  nowMs: number,
  maxEntries: number,
): void {
  const sub = requireSubscription(w, subscription);
  const topic = topicById(w, sub.topicId) as TopicRecord;
  const goal = resolveGoal(w, sub, topic, target);
  const held = heldEntries(w, sub.id, "this Seek", maxEntries);
  const wanted = wantedStored(w, sub, topic, goal, maxEntries);
  let work = wanted.size;
  for (const seq of held.keys()) if (!wanted.has(seq)) work++;
  if (work > maxEntries) throw replayLimit("this Seek", maxEntries);
  // Validated; from here on only writes.
  const c = readCounters(w, sub.id);
  const head = readHead(w, topic.id);
  // Ordered: keyed messages are lined up per key once every seq is in place (ordered-seek.ts).
  const lines = sub.ordered ? new KeyLines(w, sub, nowMs, c) : undefined;
  for (const [seq, entry] of held) {
    if (seq >= goal.fromSeq || wanted.has(seq)) {
      lines?.keep(entry);
      continue;
    }
    lines?.drop(entry);
    dropHeld(w, sub.id, entry, c);
    releaseMessage(w, topic, head, seq, nowMs);
  }
  for (const [seq, m] of wanted) {
    if (held.has(seq)) continue;
    if (!lines || m.orderingKey.length === 0 || (m.expireAtMs > 0 && m.expireAtMs <= nowMs)) {
      offerStored(w, topic.id, sub.id, seq, m, c, nowMs);
      continue;
    }
    addHolder(w, topic.id, seq);
    c.unacked++;
    lines.offer(seq, m);
  }
  lines?.settle();
  writeCounters(w, sub.id, c);
  writeHead(w, topic.id, head);
}
