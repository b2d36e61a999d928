import type { StoredMessage } from "../../model/index.js";

/** Encoding version of a stored message (store format 2). */
const VERSION = 2;
/** Offsets of the fixed header. */
const O_PRIORITY = 1;
const O_PUBLISH = 2;
const O_DELIVER_AT = 10;
const O_EXPIRE_AT = 18;
const O_ONLY_FOR = 26;
const O_ID_LEN = 30;
const O_KEY_LEN = 32;
const O_ATTR_COUNT = 34;
const HEADER = 36;

/** The fields of a message as stored; the topic name and seq come from the key. */
export type MessageBody = Omit<StoredMessage, "topic" | "seq"> & {
  /** Delivered to this subscription id only (a redriven message); 0: to every subscription. */
  onlyForSubId?: number;
};

/**
 * Encodes a message value: [u8 version][u8 priority][f64 publishMs][f64 deliverAtMs]
 * [f64 expireAtMs][u32 onlyFor][u16 len id][u16 len orderingKey][u16 attribute count]
 * ([u16 len key][u32 len value])* [u32 len data], then the bytes of each in that order.
 */
export function encodeMessage(m: MessageBody): Buffer {
  const attrs = Object.entries(m.attributes);
  const id = Buffer.from(m.id);
  const key = Buffer.from(m.orderingKey);
  const attrBufs: Buffer[] = [];
  for (const [k, v] of attrs) attrBufs.push(Buffer.from(k), Buffer.from(v));
  let size = HEADER + attrs.length * 6 + 4 + id.length + key.length + m.data.length;
  for (const b of attrBufs) size += b.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = VERSION;
  out[O_PRIORITY] = m.priority;
  out.writeDoubleBE(m.publishTimeMs, O_PUBLISH);
  out.writeDoubleBE(m.deliverAtMs, O_DELIVER_AT);
  out.writeDoubleBE(m.expireAtMs, O_EXPIRE_AT);
  out.writeUInt32BE(m.onlyForSubId ?? 0, O_ONLY_FOR);
  out.writeUInt16BE(id.length, O_ID_LEN);
  out.writeUInt16BE(key.length, O_KEY_LEN);
  out.writeUInt16BE(attrs.length, O_ATTR_COUNT);
  let o = HEADER;
  for (let i = 0; i < attrBufs.length; i += 2) {
    o = out.writeUInt16BE((attrBufs[i] as Buffer).length, o);
    o = out.writeUInt32BE((attrBufs[i + 1] as Buffer).length, o);
  }
  o = out.writeUInt32BE(m.data.length, o);
  o += id.copy(out, o);
  o += key.copy(out, o);
  for (const b of attrBufs) o += b.copy(out, o);
  out.set(m.data, o);
  return out;
}

function checkVersion(buf: Buffer): void {
  if (buf[0] !== VERSION) throw new Error(`unknown message encoding version ${buf[0]}`);
}

/** Where the variable part starts: after the attribute lengths and the data length. */
function bodyStart(buf: Buffer): number {
  return HEADER + buf.readUInt16BE(O_ATTR_COUNT) * 6 + 4;
}

/** Decodes a value written by {@link encodeMessage}. `data` is a view of `buf`. */
export function decodeMessage(buf: Buffer, topic: string, seq: number): StoredMessage {
  checkVersion(buf);
  const idLen = buf.readUInt16BE(O_ID_LEN);
  const keyLen = buf.readUInt16BE(O_KEY_LEN);
  const attrCount = buf.readUInt16BE(O_ATTR_COUNT);
  let o = HEADER + attrCount * 6;
  const dataLen = buf.readUInt32BE(o);
  o += 4;
  const id = buf.toString("utf8", o, o + idLen);
  o += idLen;
  const orderingKey = keyLen === 0 ? "" : buf.toString("utf8", o, o + keyLen);
  o += keyLen;
  const attributes: Record<string, string> = {};
  let lens = HEADER;
  for (let i = 0; i < attrCount; i++) {
    const kl = buf.readUInt16BE(lens);
    const vl = buf.readUInt32BE(lens + 2);
    lens += 6;
    const k = buf.toString("utf8", o, o + kl);
    o += kl;
    attributes[k] = buf.toString("utf8", o, o + vl);
    o += vl;
  }
  const data = buf.subarray(o, o + dataLen);
  return {
    topic,
    seq,
    id,
    data,
    attributes,
    publishTimeMs: buf.readDoubleBE(O_PUBLISH),
    priority: buf[O_PRIORITY] as number,
    orderingKey,
    deliverAtMs: buf.readDoubleBE(O_DELIVER_AT),
    expireAtMs: buf.readDoubleBE(O_EXPIRE_AT),
  };
}

/** Decodes only the attributes of an encoded message (for filters). */
export function messageAttributes(buf: Buffer): Record<string, string> {
  const attrCount = buf.readUInt16BE(O_ATTR_COUNT);
  const attributes: Record<string, string> = {};
  if (attrCount === 0) return attributes;
  let o = bodyStart(buf) + buf.readUInt16BE(O_ID_LEN) + buf.readUInt16BE(O_KEY_LEN);
  let lens = HEADER;
  for (let i = 0; i < attrCount; i++) {
    const kl = buf.readUInt16BE(lens);
    const vl = buf.readUInt32BE(lens + 2);
    lens += 6;
    const k = buf.toString("utf8", o, o + kl);
    o += kl;
    attributes[k] = buf.toString("utf8", o, o + vl);
    o += vl;
  }
  return attributes;
}

/** Reads only the priority of an encoded message. */
export function messagePriority(buf: Buffer): number {
  return buf[O_PRIORITY] as number;
}

/** Reads only the publish time of an encoded message. */
export function messagePublishTime(buf: Buffer): number {
  return buf.readDoubleBE(O_PUBLISH);
}

/** Reads only the deliver-at time of an encoded message (0: none). */
export function messageDeliverAt(buf: Buffer): number {
  return buf.readDoubleBE(O_DELIVER_AT);
}

/** Reads only the expire time of an encoded message (0: none). */
export function messageExpireAt(buf: Buffer): number {
  return buf.readDoubleBE(O_EXPIRE_AT);
}

/** The only subscription id a message is for (a redriven message), 0 for every subscription. */
export function messageOnlyFor(buf: Buffer): number {
  return buf.readUInt32BE(O_ONLY_FOR);
}

/** Reads only the payload size of an encoded message. */
export function messageDataBytes(buf: Buffer): number {
  return buf.readUInt32BE(HEADER + buf.readUInt16BE(O_ATTR_COUNT) * 6);
}

/** Reads only the id of an encoded message. */
export function messageId(buf: Buffer): string {
  const start = bodyStart(buf);
  return buf.toString("utf8", start, start + buf.readUInt16BE(O_ID_LEN));
}

/** Reads only the ordering key of an encoded message ("" when none). */
export function messageOrderingKey(buf: Buffer): string {
  const keyLen = buf.readUInt16BE(O_KEY_LEN);
  if (keyLen === 0) return "";
  const start = bodyStart(buf) + buf.readUInt16BE(O_ID_LEN);
  return buf.toString("utf8", start, start + keyLen);
}

/**
 * Bytes a message counts for in a response: data, attributes, id, ordering key and topic, plus
 * a fixed allowance for the framing of one delivery (ack id, seq, times), so a response whose
 * counted bytes stay under a client's receive limit fits it.
 */
export function deliveryBytes(m: StoredMessage): number {
  let n = m.data.length + Buffer.byteLength(m.id) + Buffer.byteLength(m.orderingKey) + Buffer.byteLength(m.topic);
  for (const k in m.attributes) n += Buffer.byteLength(k) + Buffer.byteLength(m.attributes[k] as string) + 8;
  return n + DELIVERY_OVERHEAD_BYTES;
}

/** The framing allowance of one delivery in {@link deliveryBytes}. */
export const DELIVERY_OVERHEAD_BYTES = 96;

/**
 * What deleting a stored message must know of it (its index entries, the head's byte count),
 * kept with a lease so an ack can delete without reading the message again.
 */
export interface MessageMeta {
  /** Data bytes (the topic's byte count). */
  size: number;
  priority: number;
  publishMs: number;
  deliverAtMs: number;
  expireAtMs: number;
  /** The message id. */
  id: string;
  /** Delivered to this subscription only (0: all). */
  onlyFor: number;
}

/** Reads the {@link MessageMeta} of an encoded message. */
export function messageMeta(buf: Buffer): MessageMeta {
  return {
    size: messageDataBytes(buf),
    priority: messagePriority(buf),
    publishMs: messagePublishTime(buf),
    deliverAtMs: messageDeliverAt(buf),
    expireAtMs: messageExpireAt(buf),
    id: messageId(buf),
    onlyFor: messageOnlyFor(buf),
  };
}
