import type { MessageInitShape } from "@bufbuild/protobuf";
import type { MessageSchema, ReceivedMessageSchema } from "../../../gen/switchyard/v1/types_pb.js";
import { varint32Size, varint64Size, writeVarint32, writeVarint64 } from "./varint.js";

type ReceivedInit = MessageInitShape<typeof ReceivedMessageSchema>;
/**
 * What a SubscribeResponse or PullResponse is made from: a plain init object (what the service
 * yields), or either message itself.
 */
export interface ReceivedBatchInit {
  readonly messages?: readonly ReceivedInit[] | undefined;
}
type MessageInit = MessageInitShape<typeof MessageSchema>;
/** A google.protobuf.Timestamp, as an init object or a message. */
interface TimestampLike {
  readonly seconds?: bigint | number | string;
  readonly nanos?: number;
}
/** A uint64 field's value as protobuf-es accepts it. */
type Uint64 = bigint | number | string | undefined;

/**
 * Encodes a SubscribeResponse (or a PullResponse: both are `repeated ReceivedMessage messages = 1`)
 * in the protobuf binary format, producing exactly the bytes of
 * `toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, init))`: fields in number
 * order, zero values of implicit-presence fields left out, message fields written when set, map
 * entries in the object's key order with key and value always written, minimal varints. It reads
 * the init object directly (no `create`, no reflection) and writes into one buffer sized exactly
 * beforehand. Unknown fields (`$unknown`) are not written: nothing the broker yields carries any.
 *
 * `prefixBytes` bytes are left free at the start of the buffer (for a gRPC or Connect envelope
 * header, which the caller writes); the message follows them.
 */
export function encodeReceivedBatch(batch: ReceivedBatchInit, prefixBytes = 0): Buffer {
  const sizes: number[] = [];
  const messages = batch.messages ?? [];
  let total = 0;
  for (const m of messages) total += lengthDelimited(1, receivedSize(m, sizes));
  const out = Buffer.allocUnsafe(prefixBytes + total);
  const w = new Writer(out, prefixBytes, sizes);
  for (const m of messages) writeReceived(w, m);
  if (w.pos !== out.length) throw new Error(`received encoder wrote ${w.pos} of ${out.length} bytes`);
  return out;
}

// --- sizes: each nested message's size is pushed to `sizes` in the order the writer meets it.

function receivedSize(r: ReceivedInit, sizes: number[]): number {
  const slot = sizes.push(0) - 1;
  let n = stringField(1, r.ackId);
  if (r.message !== undefined) n += lengthDelimited(1, messageSize(r.message as MessageInit, sizes));
  n += uint32Field(r.deliveryAttempt);
  sizes[slot] = n;
  return n;
}

function messageSize(m: MessageInit, sizes: number[]): number {
  const slot = sizes.push(0) - 1;
  let n = stringField(1, m.topic);
  n += uint64Field(m.seq);
  n += stringField(1, m.id);
  const data = m.data;
  if (data !== undefined && data.length > 0) n += lengthDelimited(1, data.length);
  const attributes = m.attributes;
  if (attributes !== undefined) {
    for (const key of Object.keys(attributes)) {
      const entry = lengthDelimited(1, utf8Length(key)) + lengthDelimited(1, utf8Length(attributes[key] as string));
      sizes.push(entry);
      n += lengthDelimited(1, entry);
    }
  }
  if (m.publishTime !== undefined) n += lengthDelimited(1, timestampSize(m.publishTime, sizes));
  n += uint32Field(m.priority);
  n += stringField(1, m.orderingKey);
  if (m.deliverAt !== undefined) n += lengthDelimited(1, timestampSize(m.deliverAt, sizes));
  if (m.expireAt !== undefined) n += lengthDelimited(1, timestampSize(m.expireAt, sizes));
  sizes[slot] = n;
  return n;
}

function timestampSize(t: TimestampLike, sizes: number[]): number {
  const n = int64Field(t.seconds) + int32Field(t.nanos);
  sizes.push(n);
  return n;
}

/** A tag (fields 1–15: one byte), a length prefix and `n` bytes. */
function lengthDelimited(tagBytes: number, n: number): number {
  return tagBytes + varint32Size(n) + n;
}

function stringField(tagBytes: number, s: string | undefined): number {
  return s === undefined || s.length === 0 ? 0 : lengthDelimited(tagBytes, utf8Length(s));
}

function uint32Field(v: number | undefined): number {
  return v === undefined || v === 0 ? 0 : 1 + varint32Size(v >>> 0);
}

function int32Field(v: number | undefined): number {
  if (v === undefined || v === 0) return 0;
  return 1 + (v < 0 ? 10 : varint32Size(v));
}

function uint64Field(v: Uint64): number {
  if (v === undefined) return 0;
  const big = typeof v === "bigint" ? v : BigInt(v);
  if (big === 0n) return 0;
  return 1 + (big > 0n && big <= 0xffff_ffffn ? varint32Size(Number(big)) : varint64Size(BigInt.asUintN(64, big)));
}

function int64Field(v: Uint64): number {
  return uint64Field(v);
}

/** Strings up to this long are measured and written in JS when they are ASCII (no call into C++). */
const SHORT_STRING = 64;

/**
 * UTF-8 length as protobuf-es (TextEncoder) encodes: a lone surrogate becomes U+FFFD (3 bytes).
 * Equal to `s.length` exactly when `s` is ASCII (any other UTF-16 unit takes 2 bytes or more).
 */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return Buffer.byteLength(s, "utf8");
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return n;
}

// --- writing

class Writer {
  private next = 0;

  constructor(
    readonly out: Buffer,
    public pos: number,
    private readonly sizes: readonly number[],
  ) {}

  /** The next recorded nested size. */
  size(): number {
    return this.sizes[this.next++] as number;
  }

  byte(b: number): void {
    this.out[this.pos++] = b;
  }

  varint32(v: number): void {
    this.pos = writeVarint32(this.out, this.pos, v);
  }

  varint64(v: bigint): void {
    this.pos = writeVarint64(this.out, this.pos, v);
  }

  bytes(tag: number, data: Uint8Array): void {
    this.byte(tag);
    this.varint32(data.length);
    this.out.set(data, this.pos);
    this.pos += data.length;
  }

  string(tag: number, s: string): void {
    this.byte(tag);
    this.pos = writeShortString(this.out, this.pos, s);
  }
}

/**
 * Writes a string's length (a varint) and its UTF-8 bytes at `pos` (as protobuf-es writes a
 * string field's value); returns the position after them. Short ASCII strings are written in JS.
 */
export function writeShortString(out: Buffer, pos: number, s: string): number {
  const n = utf8Length(s);
  pos = writeVarint32(out, pos, n);
  if (n === s.length && n <= SHORT_STRING) {
    // ASCII (see utf8Length): one byte per character.
    for (let i = 0; i < n; i++) out[pos++] = s.charCodeAt(i);
    return pos;
  }
  return pos + out.write(s, pos, n, "utf8");
}

function writeReceived(w: Writer, r: ReceivedInit): void {
  w.byte(0x0a); // field 1, length-delimited
  w.varint32(w.size());
  if (r.ackId !== undefined && r.ackId.length > 0) w.string(0x0a, r.ackId);
  if (r.message !== undefined) writeMessage(w, r.message as MessageInit);
  if (r.deliveryAttempt !== undefined && r.deliveryAttempt !== 0) {
    w.byte(0x18); // field 3, varint
    w.varint32(r.deliveryAttempt >>> 0);
  }
}

function writeMessage(w: Writer, m: MessageInit): void {
  w.byte(0x12); // ReceivedMessage.message: field 2, length-delimited
  w.varint32(w.size());
  if (m.topic !== undefined && m.topic.length > 0) w.string(0x0a, m.topic);
  writeUint64(w, 0x10, m.seq);
  if (m.id !== undefined && m.id.length > 0) w.string(0x1a, m.id);
  if (m.data !== undefined && m.data.length > 0) w.bytes(0x22, m.data);
  const attributes = m.attributes;
  if (attributes !== undefined) {
    for (const key of Object.keys(attributes)) {
      w.byte(0x2a); // field 5, length-delimited: one map entry
      w.varint32(w.size());
      w.string(0x0a, key);
      w.string(0x12, attributes[key] as string);
    }
  }
  if (m.publishTime !== undefined) writeTimestamp(w, 0x32, m.publishTime);
  if (m.priority !== undefined && m.priority !== 0) {
    w.byte(0x38); // field 7, varint
    w.varint32(m.priority >>> 0);
  }
  if (m.orderingKey !== undefined && m.orderingKey.length > 0) w.string(0x42, m.orderingKey);
  if (m.deliverAt !== undefined) writeTimestamp(w, 0x4a, m.deliverAt);
  if (m.expireAt !== undefined) writeTimestamp(w, 0x52, m.expireAt);
}

function writeUint64(w: Writer, tag: number, v: Uint64): void {
  if (v === undefined) return;
  const big = typeof v === "bigint" ? v : BigInt(v);
  if (big === 0n) return;
  w.byte(tag);
  w.varint64(BigInt.asUintN(64, big));
}

function writeTimestamp(w: Writer, tag: number, t: TimestampLike): void {
  w.byte(tag);
  w.varint32(w.size());
  writeUint64(w, 0x08, t.seconds); // int64 seconds: negative values as 64-bit two's complement
  const nanos = t.nanos;
  if (nanos !== undefined && nanos !== 0) {
    w.byte(0x10);
    if (nanos < 0) w.varint64(BigInt.asUintN(64, BigInt(nanos)));
    else w.varint32(nanos);
  }
}
