/**
 * The small fixed-layout values of the KV tables (keys.ts names the tables): counters and heads as
 * f64s, ids as u32, range ends as u64, a message's delivery state, and a message id's index
 * entry. Their byte offsets live only here.
 */
import { readU64, U32_MAX, writeU64 } from "./keys.js";

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

/** Encodes a u64 value (a range end). */
export function encodeU64(value: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  writeU64(b, value, 0);
  return b;
}

/** Decodes a u64 value. */
export function decodeU64(buf: Buffer): number {
  return readU64(buf, 0);
}

/** Encodes a per-message state: attempts so far and the time it is due again (0: not delayed). */
export function encodeMsgState(attempts: number, dueMs: number): Buffer {
  const b = Buffer.allocUnsafe(12);
  b.writeUInt32BE(Math.min(attempts, U32_MAX), 0);
  b.writeDoubleBE(dueMs, 4);
  return b;
}

/** Decodes {@link encodeMsgState}. */
export function decodeMsgState(buf: Buffer): { attempts: number; dueMs: number } {
  return { attempts: buf.readUInt32BE(0), dueMs: buf.length >= 12 ? buf.readDoubleBE(4) : 0 };
}

/** A message id index entry: the id's message seq, its publish time and when its dedup window ends. */
export interface MessageIdEntry {
  seq: number;
  publishMs: number;
  /** 0: no window (unacked scope). */
  expireMs: number;
}

/** Encodes a {@link MessageIdEntry}. */
export function encodeMessageIdEntry(e: MessageIdEntry): Buffer {
  return encodeF64s(e.seq, e.publishMs, e.expireMs);
}

/** Decodes a {@link MessageIdEntry} (undefined when there is none). */
export function decodeMessageIdEntry(raw: Buffer | undefined): MessageIdEntry | undefined {
  if (!raw) return undefined;
  // As decodeF64s, without its array: this runs once per ack by message id.
  const n = raw.length;
  return {
    seq: n >= 8 ? raw.readDoubleBE(0) : 0,
    publishMs: n >= 16 ? raw.readDoubleBE(8) : 0,
    expireMs: n >= 24 ? raw.readDoubleBE(16) : 0,
  };
}
