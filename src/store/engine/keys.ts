/**
 * Key layout of the KV engine. Every key starts with a one-byte table tag; numbers are
 * big-endian so byte order is numeric order. Ids (topic, subscription) are allocated once and
 * never reused, so they double as the generation of a name.
 */
export enum Table {
  Meta = 0x00,
  /** [name] → topic id (u32) */
  TopicName = 0x01,
  /** [topicId] → JSON topic record */
  Topic = 0x02,
  /** [topicId] → head: lastSeq, messages, bytes (3 × f64) */
  Head = 0x03,
  /** [topicId][seq] → encoded message */
  Message = 0x04,
  /** [topicId][seq] → subscriptions that still hold it (u32) */
  Ref = 0x05,
  /** [topicId][message id] → seq (f64), publish ms (f64) */
  MessageId = 0x06,
  /** [expireMs][topicId][message id] → empty: dedup entries to sweep */
  DedupExpiry = 0x07,
  /** [name] → subscription id (u32) */
  SubscriptionName = 0x08,
  /** [subId] → JSON subscription record */
  Subscription = 0x09,
  /** [topicId][subId] → empty */
  TopicSubscription = 0x0a,
  /** [subId][255 - priority][seq] → attempts so far (u32): available now */
  Ready = 0x0b,
  /** [subId][seq] → pending record: leased or delayed */
  Pending = 0x0c,
  /** [subId][dueMs][seq] → empty: lease deadlines and delays */
  Due = 0x0d,
  /** [subId] → counters: unacked, inFlight, delayed (3 × f64) */
  Counters = 0x0e,
  /** [name] → next id (u32) */
  IdAllocator = 0x0f,
  /** [name] → snapshot id (u32) */
  SnapshotName = 0x10,
  /** [snapId] → JSON snapshot record */
  Snapshot = 0x11,
  /** [snapId][seq] → empty: the unacked seqs a snapshot captured (each holds a ref) */
  SnapshotSeq = 0x12,
  /** [topicId][snapId] → empty */
  TopicSnapshot = 0x13,
  /** [expireMs][topicId][seq] → empty: acked messages kept for replay, to sweep (retain_acked) */
  RetainExpiry = 0x14,
  /** [topicId] → empty: topics with retain_acked, a max age or a drop_oldest limit, for the retention sweep */
  LimitedTopic = 0x15,
  /** [subId] → messages that used up their delivery attempts: dead-lettered or dropped (f64) */
  DeadLettered = 0x18,
  /**
   * [subId][ordering key body (ordering.ts)] → seq, priority, first, last (4 × f64): the key's active
   * message on an ordered subscription (ready or pending) and the first and last seq waiting behind it
   */
  OrderLock = 0x1c,
  /** [expireMs][topicId][seq] → empty: stored messages with a TTL, for the sweep */
  TtlExpiry = 0x1d,
  /**
   * [subId][seq] → priority, attempts, early, deliver time, prev and next seq of the key, key body:
   * messages waiting behind their ordering key's active one, a list per key (ordering.ts)
   */
  OrderWaiting = 0x1e,
  /** [subId][seq] → empty: waiting messages with a lower seq than their key's active one (left by a Seek) */
  OrderEarly = 0x1f,
}

const U32_MAX = 0xffffffff;

function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), offset);
  buf.writeUInt32BE((value % 0x1_0000_0000) >>> 0, offset + 4);
}

/** Reads a big-endian u64 written by the key builders as a number (≤ 2^53). */
export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * 0x1_0000_0000 + buf.readUInt32BE(offset + 4);
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

/** [table][id u32][seq u64] */
export function seqKey(table: Table, id: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(13);
  b[0] = table;
  b.writeUInt32BE(id, 1);
  writeU64(b, seq, 5);
  return b;
}

/** [Ready][subId][255 - priority][seq] */
export function readyKey(subId: number, priority: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(14);
  b[0] = Table.Ready;
  b.writeUInt32BE(subId, 1);
  b[5] = 255 - priority;
  writeU64(b, seq, 6);
  return b;
}

/** Parses a ready key into priority and seq. */
export function parseReadyKey(key: Buffer): { priority: number; seq: number } {
  return { priority: 255 - (key[5] as number), seq: readU64(key, 6) };
}

/** [Ready][subId][255 - priority]: the start of one priority lane. */
export function readyLaneKey(subId: number, priority: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = Table.Ready;
  b.writeUInt32BE(subId, 1);
  b[5] = 255 - priority;
  return b;
}

/** [Due][subId][dueMs][seq] */
export function dueKey(subId: number, dueMs: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = Table.Due;
  b.writeUInt32BE(subId, 1);
  writeU64(b, Math.max(0, Math.ceil(dueMs)), 5);
  writeU64(b, seq, 13);
  return b;
}

/** Parses a due key into due time and seq. */
export function parseDueKey(key: Buffer): { dueMs: number; seq: number } {
  return { dueMs: readU64(key, 5), seq: readU64(key, 13) };
}

/** [TopicId-scoped table][topicId][utf8 string] */
export function idStringKey(table: Table, id: number, s: string): Buffer {
  const b = Buffer.allocUnsafe(5 + Buffer.byteLength(s));
  b[0] = table;
  b.writeUInt32BE(id, 1);
  b.write(s, 5);
  return b;
}

/** [DedupExpiry][expireMs][topicId][id] */
export function dedupExpiryKey(expireMs: number, topicId: number, id: string): Buffer {
  const b = Buffer.allocUnsafe(13 + Buffer.byteLength(id));
  b[0] = Table.DedupExpiry;
  writeU64(b, Math.max(0, Math.ceil(expireMs)), 1);
  b.writeUInt32BE(topicId, 9);
  b.write(id, 13);
  return b;
}

/** Parses a dedup expiry key. */
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

/** Encodes numbers as consecutive f64 (counters and small fixed records). */
export function encodeF64s(...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(values.length * 8);
  for (let i = 0; i < values.length; i++) b.writeDoubleBE(values[i] as number, i * 8);
  return b;
}

/** Decodes `count` f64s (missing ones read as 0). */
export function decodeF64s(buf: Buffer | undefined, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(buf && buf.length >= (i + 1) * 8 ? buf.readDoubleBE(i * 8) : 0);
  return out;
}

/** Encodes a u32. */
export function encodeU32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(Math.min(value, U32_MAX), 0);
  return b;
}

/** Decodes a u32 (missing reads as 0). */
export function decodeU32(buf: Buffer | undefined): number {
  return buf && buf.length >= 4 ? buf.readUInt32BE(0) : 0;
}

/** [RetainExpiry][expireMs][topicId][seq] */
export function retainExpiryKey(expireMs: number, topicId: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = Table.RetainExpiry;
  writeU64(b, Math.max(0, Math.ceil(expireMs)), 1);
  b.writeUInt32BE(topicId, 9);
  writeU64(b, seq, 13);
  return b;
}

/** Parses a retain expiry key. */
export function parseRetainExpiryKey(key: Buffer): { expireMs: number; topicId: number; seq: number } {
  return { expireMs: readU64(key, 1), topicId: key.readUInt32BE(9), seq: readU64(key, 13) };
}

/** [TtlExpiry][expireMs u64][topicId u32][seq u64]: a stored message with a TTL, by expiry. */
export function ttlExpiryKey(expireMs: number, topicId: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(21);
  b[0] = Table.TtlExpiry;
  writeU64(b, Math.max(0, Math.ceil(expireMs)), 1);
  b.writeUInt32BE(topicId, 9);
  writeU64(b, seq, 13);
  return b;
}
