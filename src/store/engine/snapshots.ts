/**
 * Snapshots: a named capture of a subscription's unacked seqs and its topic's last seq. Each
 * captured seq counts as a holder of its message (Ref), so the message stays in the log until
 * the snapshot is deleted; snapshots do not expire. They belong to the topic: deleting the
 * subscription keeps them (any subscription of the topic may Seek to them), deleting the topic
 * deletes them.
 */
import { BrokerError } from "../../errors/index.js";
import type { KvReader, KvWriter } from "../kv/kv.js";
import { MAX_SNAPSHOTS_PER_TOPIC, type SnapshotRecord, type TopicRecord } from "../store.js";
import { heldEntries, scanPrefix } from "./held.js";
import { encodeU32, idKey, keyAfter, pairKey, prefixEnd, readU64, seqKey, stringKey, Table } from "./keys.js";
import { allocateId, readHead, requireSubscription, topicById, writeHead } from "./records.js";
import { addHolder } from "./retain.js";
import { releaseMessage } from "./retention.js";

const EMPTY = Buffer.alloc(0);

function snapshotById(r: KvReader, id: number): SnapshotRecord | undefined {
  const raw = r.get(idKey(Table.Snapshot, id));
  return raw ? (JSON.parse(raw.toString()) as SnapshotRecord) : undefined;
}

/** The snapshot of that name, if there is one. */
export function findSnapshot(r: KvReader, name: string): SnapshotRecord | undefined {
  const id = r.get(stringKey(Table.SnapshotName, name));
  return id ? snapshotById(r, id.readUInt32BE(0)) : undefined;
}

/** The snapshot of that name, or SNAPSHOT_NOT_FOUND. */
export function requireSnapshot(r: KvReader, name: string): SnapshotRecord {
  const s = findSnapshot(r, name);
  if (!s) {
    throw new BrokerError("SNAPSHOT_NOT_FOUND", `snapshot "${name}" does not exist`, { metadata: { snapshot: name } });
  }
  return s;
}

/** The seqs a snapshot captured (bounded by the replay bound when it was created). */
export function snapshotSeqs(r: KvReader, snapId: number): number[] {
  const seqs: number[] = [];
  scanPrefix(r, idKey(Table.SnapshotSeq, snapId), Number.MAX_SAFE_INTEGER, (key) => {
    seqs.push(readU64(key, 5));
  });
  return seqs;
}

function topicSnapshotIds(r: KvReader, topicId: number): number[] {
  const start = idKey(Table.TopicSnapshot, topicId);
  return r.range({ start, end: prefixEnd(start) }).map((e) => e.key.readUInt32BE(5));
}

/** Creates a snapshot of a subscription's ack state. */
export function createSnapshotRecord(
  w: KvWriter,
  name: string,
  subscription: string,
  nowMs: number,
  maxEntries: number,
): SnapshotRecord {
  const sub = requireSubscription(w, subscription);
  if (findSnapshot(w, name)) {
    throw new BrokerError("ALREADY_EXISTS", `snapshot "${name}" already exists`, { metadata: { snapshot: name } });
  }
  const topic = topicById(w, sub.topicId) as TopicRecord;
  if (topicSnapshotIds(w, topic.id).length >= MAX_SNAPSHOTS_PER_TOPIC) {
    throw new BrokerError("REPLAY_LIMIT", `topic "${topic.name}" has ${MAX_SNAPSHOTS_PER_TOPIC} snapshots already`, {
      metadata: { limit: String(MAX_SNAPSHOTS_PER_TOPIC) },
    });
  }
  const held = [...heldEntries(w, sub.id, "this snapshot", maxEntries).keys()].filter((seq) =>
    w.get(seqKey(Table.Message, topic.id, seq)),
  );
  // Validated; from here on only writes.
  const snap: SnapshotRecord = {
    id: allocateId(w, "snapshot"),
    topicId: topic.id,
    name,
    subscription: sub.name,
    topic: topic.name,
    createTimeMs: nowMs,
    lastSeq: readHead(w, topic.id).lastSeq,
    messages: held.length,
  };
  w.put(stringKey(Table.SnapshotName, name), encodeU32(snap.id));
  w.put(idKey(Table.Snapshot, snap.id), Buffer.from(JSON.stringify(snap)));
  w.put(pairKey(Table.TopicSnapshot, topic.id, snap.id), EMPTY);
  for (const seq of held) {
    w.put(seqKey(Table.SnapshotSeq, snap.id, seq), EMPTY);
    addHolder(w, topic.id, seq);
  }
  return snap;
}

/** Snapshots in name order after `after`, all or of one subscription. */
export function listSnapshotRecords(r: KvReader, subscription: string, after: string, limit: number): SnapshotRecord[] {
  if (subscription !== "") {
    const sub = requireSubscription(r, subscription);
    const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    return topicSnapshotIds(r, sub.topicId)
      .map((id) => snapshotById(r, id))
      .filter((s): s is SnapshotRecord => s !== undefined && s.subscription === sub.name && byBytes(s.name, after) > 0)
      .sort((a, b) => byBytes(a.name, b.name))
      .slice(0, limit);
  }
  const start = after === "" ? stringKey(Table.SnapshotName, "") : keyAfter(stringKey(Table.SnapshotName, after));
  return r
    .range({ start, end: prefixEnd(Buffer.of(Table.SnapshotName)), limit })
    .map((e) => snapshotById(r, e.value.readUInt32BE(0)))
    .filter((s): s is SnapshotRecord => s !== undefined);
}

function removeSnapshotKeys(w: KvWriter, snap: SnapshotRecord): void {
  w.del(stringKey(Table.SnapshotName, snap.name));
  w.del(idKey(Table.Snapshot, snap.id));
  w.del(pairKey(Table.TopicSnapshot, snap.topicId, snap.id));
}

/** Deletes a snapshot; the messages only it kept leave the log (or stay retained). */
export function deleteSnapshotRecord(w: KvWriter, name: string, nowMs: number): void {
  const snap = requireSnapshot(w, name);
  const seqs = snapshotSeqs(w, snap.id);
  const topic = topicById(w, snap.topicId);
  removeSnapshotKeys(w, snap);
  if (!topic) return;
  const head = readHead(w, topic.id);
  for (const seq of seqs) {
    w.del(seqKey(Table.SnapshotSeq, snap.id, seq));
    if (w.get(seqKey(Table.Message, topic.id, seq))) releaseMessage(w, topic, head, seq, nowMs);
  }
  writeHead(w, topic.id, head);
}

/** Deletes every snapshot of a topic that is being deleted (its messages go with it). */
export function deleteTopicSnapshots(w: KvWriter, topicId: number): void {
  for (const id of topicSnapshotIds(w, topicId)) {
    const snap = snapshotById(w, id);
    for (const seq of snap ? snapshotSeqs(w, id) : []) w.del(seqKey(Table.SnapshotSeq, id, seq));
    if (snap) removeSnapshotKeys(w, snap);
    w.del(pairKey(Table.TopicSnapshot, topicId, id));
  }
}
