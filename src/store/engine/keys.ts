/**
 * Key layout of the KV engine (store format 3). Every key starts with a one-byte table tag;
 * numbers are big-endian so byte order is numeric order. Ids (topic, subscription, snapshot) are
 * allocated once and never reused, so they double as the generation of a name. Byte offsets of
 * keys live only in this file (those of the tables' small values in table-values.ts, and those of
 * message values in message-codec.ts).
 *
 * Per message the log is the only write on publish ({@link Table.Message}); a message with a
 * priority above 0 also gets a {@link Table.Lane} entry, one with a deliver time a
 * {@link Table.TopicDue} entry, one with a TTL a {@link Table.TtlExpiry} entry, and one with a
 * client id an id entry. Subscriptions are cursors ({@link Table.Cursor}, {@link Table.AckRange}):
 * nothing is written per subscription per message. A message nobody holds any more is released
 * ({@link Table.Released}: gone for every reader, counted out of the head) and its keys are
 * deleted later, in bulk, by the background trim (trim.ts), not by the ack that released it.
 */
export enum Table {
  /** [name] → value: store-wide metadata (the store format). */
  Meta = 0x00,
  /** [name] → topic id (u32) */
  TopicName = 0x01,
  /** [topicId] → JSON topic record */
  Topic = 0x02,
  /** [topicId] → head: lastSeq, messages, bytes, logStart (f64s) */
  Head = 0x03,
  /** [topicId][seq] → encoded message: the log */
  Message = 0x04,
  /** [topicId][255 - priority][seq] → empty: the log's messages of one priority lane above 0 */
  Lane = 0x05,
  /** [topicId][message id] → seq, publish ms, dedup expiry ms (f64s): client ids */
  MessageId = 0x06,
  /** [expireMs][topicId][message id] → empty: window-scope dedup entries, for the sweep */
  DedupExpiry = 0x07,
  /** [name] → subscription id (u32) */
  SubscriptionName = 0x08,
  /** [subId] → JSON subscription record */
  Subscription = 0x09,
  /** [topicId][subId] → filter and ordered flag (fan-out.ts) */
  TopicSubscription = 0x0a,
  /** [subId] → the cursor: counters and per lane the ack floor and scan mark (cursor-codec.ts) */
  Cursor = 0x0b,
  /** [subId][lane u8][start u64] → end u64: acked seqs above a lane's floor */
  AckRange = 0x0c,
  /** [subId][seq] → attempts, due ms: a message that failed a delivery or was nacked with a delay */
  MsgState = 0x0d,
  /** [topicId][deliverAtMs][seq] → priority (u8): stored messages published with a delay */
  TopicDue = 0x0e,
  /** [name] → next id (u32) */
  IdAllocator = 0x0f,
  /** [name] → snapshot id (u32) */
  SnapshotName = 0x10,
  /** [snapId] → JSON snapshot record (with the captured cursor's floors) */
  Snapshot = 0x11,
  /** [snapId][lane u8][start u64] → end u64: the captured cursor's acked ranges */
  SnapshotRange = 0x12,
  /** [topicId][snapId] → empty */
  TopicSnapshot = 0x13,
  /** [untilMs][topicId][seq] → empty: acked messages kept for replay (retain_acked), for the sweep */
  RetainExpiry = 0x14,
  /** [topicId] → empty: topics with retain_acked, a max age or a drop_oldest limit */
  LimitedTopic = 0x15,
  /** [expireMs][topicId][seq] → empty: stored messages with a TTL, for the sweep */
  TtlExpiry = 0x16,
  /** [jobId u32] → JSON: background work in bounded steps (jobs.ts) */
  Job = 0x17,
  /**
   * [topicId][start u64] → end u64: released seqs (nobody holds them, retention does not keep
   * them; counted out of the head) whose log entries the trim has not deleted yet (trim.ts)
   */
  Released = 0x18,
}

/** The largest u32: counts stored as u32 stop there. */
export const U32_MAX = 0xffffffff;

/** Writes `value` (≤ 2^53) as a big-endian u64 at `offset`: byte order is numeric order. */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE((value % 0x1_0000_0000) >>> 0, offset + 4);
}

/** Reads a big-endian u64 written by the key builders as a number (≤ 2^53). */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x1_0000_0000 + buf.readUInt32BE(offset + 4);
}

/** A time or seq as a key field: whole, never negative. */
function u64Field(value: number): number {
  return Math.max(0, Math.ceil(value));
}

/** [table] */
export function tableKey(table: Table): Buffer {
  return Buffer.of(table);
}

/** [table][id u32] */
export function idKey(table: Table, id: number): Buffer {
  const b = Buffer.allocUnsafe(5);
  b[0] = table;
  b.writeUInt32BE(id, 1);
  return b;
}

/** The id of an {@link idKey} (or of any key starting [table][id u32]). */
export function keyId(key: Buffer): number {
  return key.readUInt32BE(1);
}

/** The first key after every key starting with `prefix`. */
export function prefixEnd(prefix: Buffer): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      b[i] = (b[i] as number) + 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.alloc(b.length + 1, 0xff);
}

/** The first key after `key` (for resuming a range read past the last key seen). */
export function keyAfter(key: Buffer): Buffer {
  return Buffer.concat([key, Buffer.of(0)]);
}

/** [table][utf8 string] */
export function stringKey(table: Table, s: string): Buffer {
  const b = Buffer.allocUnsafe(1 + Buffer.byteLength(s));
  b[0] = table;
  b.write(s, 1);
  return b;
}

/** The string of a {@link stringKey}. */
export function keyString(key: Buffer): string {
  return key.toString("utf8", 1);
}

/** [table][id u32][seq u64] */
export function seqKey(table: Table, id: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  b[0] = table;
  b.writeUInt32BE(id, 1);
  writeU64(b, seq, 5);
  return b;
}

/**
 * The key after a topic's log: an empty entry that keeps every append to the log an insert
 * before another key. LMDB then splits full pages so that 1 KiB messages fill them (three to a
 * page) instead of leaving every page a third empty, as appends at the end of the tree do.
 */
export function logEndKey(topicId: number): Buffer {
  const b = Buffer.alloc(13, 0xff);
  b[0] = Table.Message;
  b.writeUInt32BE(topicId, 1);
  return b;
}

/** The seq of a {@link seqKey}. */
export function keySeq(key: Buffer): number {
  return readU64(key, 5);
}

/** [Lane][topicId][255 - priority][seq] */
export function laneKey(topicId: number, priority: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(14);
  b[0] = Table.Lane;
  b.writeUInt32BE(topicId, 1);
  b[5] = 255 - priority;
  writeU64(b, seq, 6);
  return b;
}

/** The seq of a {@link laneKey}. */
export function laneKeySeq(key: Buffer): number {
  return readU64(key, 6);
}

/** [Lane][topicId][255 - priority]: the start of one lane's index. */
export function lanePrefix(topicId: number, priority: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = Table.Lane;
  b.writeUInt32BE(topicId, 1);
  b[5] = 255 - priority;
  return b;
}

/** [table][id u32][lane u8][start u64]: an acked range of a cursor (subscription or snapshot). */
export function rangeKey(table: Table.AckRange | Table.SnapshotRange, id: number, lane: number, start: number): Buffer {
  const b = Buffer.allocUnsafe(14);
  b[0] = table;
  b.writeUInt32BE(id, 1);
  b[5] = lane;
  writeU64(b, start, 6);
  return b;
}

/** [Released][topicId u32][start u64]: a topic's released range awaiting the trim. */
export function releasedKey(topicId: number, start: number): Buffer {
  return seqKey(Table.Released, topicId, start);
}

/** Parses a {@link rangeKey}. */
export function parseRangeKey(key: Buffer): { lane: number; start: number } {
  return { lane: key[5] as number, start: readU64(key, 6) };
}

/** [TopicDue][topicId][dueMs u64][seq u64] */
export function topicDueKey(topicId: number, dueMs: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = Table.TopicDue;
  b.writeUInt32BE(topicId, 1);
  writeU64(b, u64Field(dueMs), 5);
  writeU64(b, seq, 13);
  return b;
}

/** Parses a {@link topicDueKey}. */
export function parseTopicDueKey(key: Buffer): { dueMs: number; seq: number } {
  return { dueMs: readU64(key, 5), seq: readU64(key, 13) };
}

/** [table][topicId][utf8 string] */
export function idStringKey(table: Table, id: number, s: string): Buffer {
  const b = Buffer.allocUnsafe(5 + Buffer.byteLength(s));
  b[0] = table;
  b.writeUInt32BE(id, 1);
  b.write(s, 5);
  return b;
}

/** The string of an {@link idStringKey}. */
export function idKeyString(key: Buffer): string {
  return key.toString("utf8", 5);
}

/** Bytes a {@link dedupExpiryKey} takes besides the id. */
export const DEDUP_EXPIRY_KEY_OVERHEAD = 13;

/** [DedupExpiry][expireMs u64][topicId u32][id] */
export function dedupExpiryKey(expireMs: number, topicId: number, id: string): Buffer {
  const b = Buffer.allocUnsafe(DEDUP_EXPIRY_KEY_OVERHEAD + Buffer.byteLength(id));
  b[0] = Table.DedupExpiry;
  writeU64(b, u64Field(expireMs), 1);
  b.writeUInt32BE(topicId, 9);
  b.write(id, 13);
  return b;
}

/** Parses a {@link dedupExpiryKey}. */
export function parseDedupExpiryKey(key: Buffer): { expireMs: number; topicId: number; id: string } {
  return { expireMs: readU64(key, 1), topicId: key.readUInt32BE(9), id: key.toString("utf8", 13) };
}

/** [Table][id u32][other id u32] */
export function pairKey(table: Table, a: number, b: number): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = table;
  k.writeUInt32BE(a, 1);
  k.writeUInt32BE(b, 5);
  return k;
}

/** The second id of a {@link pairKey}. */
export function pairSecond(key: Buffer): number {
  return key.readUInt32BE(5);
}

/** [table][timeMs u64][topicId u32][seq u64]: the retention and TTL sweep indexes. */
export function timeSeqKey(table: Table.RetainExpiry | Table.TtlExpiry, timeMs: number, topicId: number, seq: number) {
  const b = Buffer.allocUnsafe(21);
  b[0] = table;
  writeU64(b, u64Field(timeMs), 1);
  b.writeUInt32BE(topicId, 9);
  writeU64(b, seq, 13);
  return b;
}

/** Parses a {@link timeSeqKey}. */
export function parseTimeSeqKey(key: Buffer): { timeMs: number; topicId: number; seq: number } {
  return { timeMs: readU64(key, 1), topicId: key.readUInt32BE(9), seq: readU64(key, 13) };
}
