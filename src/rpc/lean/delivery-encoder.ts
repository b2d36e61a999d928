/**
 * SubscribeResponse and PullResponse bytes straight from the core's deliveries: the bytes of
 * protobuf-es's `toBinary(create(SubscribeResponseSchema, { messages: deliveries.map(received) }))`,
 * without the init objects `received` builds per message (a ReceivedMessage, a Message, a
 * Timestamp or three, and a BigInt per 64-bit number) and without reflection. Fields are written
 * in number order, zero values of implicit-presence fields left out, map entries in the object's
 * key order with key and value always written, minimal varints, into one buffer sized beforehand.
 * Sequence numbers and times are safe integers here, written as varints from numbers.
 *
 * A batch with anything this path does not write the way `received` would (a time that is not a
 * non-negative safe integer of milliseconds, a seq that is not a safe integer), and any response
 * that is not a {@link ReceivedDeliveries}, is encoded by protobuf-es itself
 * ({@link encodeReceivedInit}), so the bytes are always the same.
 */
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { SubscribeResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { Delivery, StoredMessage } from "../../model/index.js";
import { received } from "../convert.js";
import { varint32Size, writeVarint32 } from "./varint.js";

/**
 * Per message of the batch being encoded: its Message body size, its ReceivedMessage body size and
 * its ack id's UTF-8 length, measured once and reused from batch to batch (no arrays per batch).
 */
const bodySizes: number[] = [];
const receivedSizes: number[] = [];
const ackIdSizes: number[] = [];

/** The topic last measured, and its UTF-8 length: a batch's messages are usually of one topic. */
let lastTopic = "";
let lastTopicBytes = 0;

/** The UTF-8 length of a message's topic, measured once per run of messages of that topic. */
function topicBytes(topic: string): number {
  if (topic !== lastTopic) {
    lastTopicBytes = utf8Length(topic);
    lastTopic = topic;
  }
  return lastTopicBytes;
}

/** Encodes the deliveries as a SubscribeResponse (or PullResponse) after `prefixBytes` free bytes. */
export function encodeDeliveries(deliveries: readonly Delivery[], prefixBytes = 0): Buffer {
  let total = 0;
  for (let i = 0; i < deliveries.length; i++) {
    const d = deliveries[i] as Delivery;
    if (!writable(d)) return encodeReceivedInit({ messages: deliveries.map(received) }, prefixBytes);
    const body = messageBodySize(d.message);
    const ackIdBytes = d.ackId.length > 0 ? utf8Length(d.ackId) : 0;
    const receivedBody = receivedBodySize(d, ackIdBytes, body);
    bodySizes[i] = body;
    ackIdSizes[i] = ackIdBytes;
    receivedSizes[i] = receivedBody;
    total += lengthDelimited(receivedBody);
  }
  const out = Buffer.allocUnsafe(prefixBytes + total);
  let pos = prefixBytes;
  for (let i = 0; i < deliveries.length; i++) {
    const d = deliveries[i] as Delivery;
    const body = bodySizes[i] as number;
    out[pos++] = 0x0a; // SubscribeResponse.messages: field 1, length-delimited
    pos = writeVarint32(out, pos, receivedSizes[i] as number);
    if (d.ackId.length > 0) {
      out[pos++] = 0x0a; // ReceivedMessage.ack_id: field 1
      pos = writeMeasuredString(out, pos, d.ackId, ackIdSizes[i] as number);
    }
    out[pos++] = 0x12; // ReceivedMessage.message: field 2
    pos = writeVarint32(out, pos, body);
    pos = writeMessage(out, pos, d.message);
    if (d.deliveryAttempt !== 0) {
      out[pos++] = 0x18; // ReceivedMessage.delivery_attempt: field 3, varint
      pos = writeVarint32(out, pos, d.deliveryAttempt >>> 0);
    }
  }
  if (pos !== out.length) throw new Error(`delivery encoder wrote ${pos} of ${out.length} bytes`);
  return out;
}

/**
 * A SubscribeResponse (or PullResponse: both are `repeated ReceivedMessage messages = 1`) from an
 * init object or a message, by protobuf-es, after `prefixBytes` free bytes.
 */
export function encodeReceivedInit(
  response: MessageInitShape<typeof SubscribeResponseSchema>,
  prefixBytes = 0,
): Buffer {
  const bytes = toBinary(SubscribeResponseSchema, create(SubscribeResponseSchema, response));
  const out = Buffer.allocUnsafe(prefixBytes + bytes.length);
  out.set(bytes, prefixBytes);
  return out;
}

/** Whether this path writes `d` as `received(d)` would be written (see the module comment). */
function writable(d: Delivery): boolean {
  const m = d.message;
  return (
    Number.isSafeInteger(m.seq) &&
    m.seq >= 0 &&
    Number.isInteger(d.deliveryAttempt) &&
    d.deliveryAttempt >= 0 &&
    d.deliveryAttempt <= 0xffff_ffff &&
    Number.isInteger(m.priority) &&
    m.priority >= 0 &&
    m.priority <= 0xffff_ffff &&
    timeWritable(m.publishTimeMs) &&
    timeWritable(m.deliverAtMs) &&
    timeWritable(m.expireAtMs)
  );
}

function timeWritable(ms: number): boolean {
  return Number.isSafeInteger(ms) && ms >= 0;
}

/** A ReceivedMessage's body: `ackIdBytes` is its ack id's UTF-8 length (0: none). */
function receivedBodySize(d: Delivery, ackIdBytes: number, messageBody: number): number {
  let n = d.ackId.length > 0 ? lengthDelimited(ackIdBytes) : 0;
  n += lengthDelimited(messageBody);
  if (d.deliveryAttempt !== 0) n += 1 + varint32Size(d.deliveryAttempt >>> 0);
  return n;
}

function messageBodySize(m: StoredMessage): number {
  let n = m.topic.length > 0 ? lengthDelimited(topicBytes(m.topic)) : 0;
  if (m.seq !== 0) n += 1 + varintSize(m.seq);
  if (m.id.length > 0) n += lengthDelimited(utf8Length(m.id));
  if (m.data.length > 0) n += lengthDelimited(m.data.length);
  const attributes = m.attributes;
  for (const key in attributes) n += lengthDelimited(entrySize(key, attributes[key] as string));
  n += lengthDelimited(timestampSize(m.publishTimeMs)); // always set, as `received` sets it
  if (m.priority !== 0) n += 1 + varint32Size(m.priority);
  if (m.orderingKey.length > 0) n += lengthDelimited(utf8Length(m.orderingKey));
  if (m.deliverAtMs > 0) n += lengthDelimited(timestampSize(m.deliverAtMs));
  if (m.expireAtMs > 0) n += lengthDelimited(timestampSize(m.expireAtMs));
  return n;
}

/** A map entry's body: key and value, both always written. */
function entrySize(key: string, value: string): number {
  return lengthDelimited(utf8Length(key)) + lengthDelimited(utf8Length(value));
}

/** A Timestamp's body for epoch milliseconds (seconds and nanos, zeros left out). */
function timestampSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  return (seconds === 0 ? 0 : 1 + varintSize(seconds)) + (nanos === 0 ? 0 : 1 + varint32Size(nanos));
}

/** A one-byte tag, a length prefix and `n` bytes. */
function lengthDelimited(n: number): number {
  return 1 + varint32Size(n) + n;
}

/** Bytes of a varint of a non-negative safe integer. */
function varintSize(v: number): number {
  if (v <= 0xffff_ffff) return varint32Size(v);
  let n = 5;
  for (let rest = Math.floor(v / 2 ** 35); rest > 0; rest = Math.floor(rest / 128)) n++;
  return n;
}

/** Writes a varint of a non-negative safe integer at `pos`; returns the position after it. */
function writeVarint(out: Buffer, pos: number, v: number): number {
  if (v <= 0xffff_ffff) return writeVarint32(out, pos, v);
  while (v > 0x7f) {
    out[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  out[pos++] = v;
  return pos;
}

function writeString(out: Buffer, pos: number, tag: number, s: string): number {
  out[pos++] = tag;
  return writeShortString(out, pos, s);
}

function writeMessage(out: Buffer, pos: number, m: StoredMessage): number {
  if (m.topic.length > 0) {
    out[pos++] = 0x0a; // field 1: its length measured by messageBodySize (topicBytes)
    pos = writeMeasuredString(out, pos, m.topic, topicBytes(m.topic));
  }
  if (m.seq !== 0) {
    out[pos++] = 0x10; // field 2, varint
    pos = writeVarint(out, pos, m.seq);
  }
  if (m.id.length > 0) pos = writeString(out, pos, 0x1a, m.id);
  const data = m.data;
  if (data.length > 0) {
    out[pos++] = 0x22; // field 4, length-delimited
    pos = writeVarint32(out, pos, data.length);
    out.set(data, pos);
    pos += data.length;
  }
  const attributes = m.attributes;
  for (const key in attributes) {
    const value = attributes[key] as string;
    out[pos++] = 0x2a; // field 5: one map entry
    pos = writeVarint32(out, pos, entrySize(key, value));
    pos = writeString(out, pos, 0x0a, key);
    pos = writeString(out, pos, 0x12, value);
  }
  pos = writeTimestamp(out, pos, 0x32, m.publishTimeMs);
  if (m.priority !== 0) {
    out[pos++] = 0x38; // field 7, varint
    pos = writeVarint32(out, pos, m.priority);
  }
  if (m.orderingKey.length > 0) pos = writeString(out, pos, 0x42, m.orderingKey);
  if (m.deliverAtMs > 0) pos = writeTimestamp(out, pos, 0x4a, m.deliverAtMs);
  if (m.expireAtMs > 0) pos = writeTimestamp(out, pos, 0x52, m.expireAtMs);
  return pos;
}

function writeTimestamp(out: Buffer, pos: number, tag: number, ms: number): number {
  out[pos++] = tag;
  pos = writeVarint32(out, pos, timestampSize(ms));
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  if (seconds !== 0) {
    out[pos++] = 0x08;
    pos = writeVarint(out, pos, seconds);
  }
  if (nanos !== 0) {
    out[pos++] = 0x10;
    pos = writeVarint32(out, pos, nanos);
  }
  return pos;
}

/** Strings up to this long are measured and written in JS when they are ASCII (no call into C++). */
const SHORT_STRING = 64;

/**
 * UTF-8 length as protobuf-es (TextEncoder) encodes: a lone surrogate becomes U+FFFD (3 bytes).
 * Equal to `s.length` exactly when `s` is ASCII (any other UTF-16 unit takes 2 bytes or more).
 */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT_STRING) return Buffer.byteLength(s, "utf8");
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s, "utf8");
  return n;
}

/**
 * Writes a string's length (a varint) and its UTF-8 bytes at `pos` (as protobuf-es writes a
 * string field's value); returns the position after them. Short ASCII strings are written in JS.
 */
function writeShortString(out: Buffer, pos: number, s: string): number {
  return writeMeasuredString(out, pos, s, utf8Length(s));
}

/** {@link writeShortString} of a string whose UTF-8 length `n` is known ({@link utf8Length}). */
function writeMeasuredString(out: Buffer, pos: number, s: string, n: number): number {
  pos = writeVarint32(out, pos, n);
  if (n === s.length && n <= SHORT_STRING) {
    // ASCII (see utf8Length): one byte per character.
    for (let i = 0; i < n; i++) out[pos++] = s.charCodeAt(i);
    return pos;
  }
  return pos + out.write(s, pos, n, "utf8");
}
