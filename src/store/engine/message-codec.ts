import type { StoredMessage } from "../../model/index.js";

const VERSION = 1;

/** The fields of a message as stored; the topic name and seq come from the key. */
export type MessageBody = Omit<StoredMessage, "topic" | "seq">;

/**
 * Encodes a message value: [u8 version][u8 priority][f64 publishMs][f64 deliverAtMs]
 * [f64 expireAtMs][u16 len id][u16 len orderingKey][u16 attribute count]
 * ([u16 len key][u32 len value])* [u32 len data], then the bytes of each in that order.
 */
export function encodeMessage(m: MessageBody): Buffer {
  const attrs = Object.entries(m.attributes);
  const id = Buffer.from(m.id);
  const key = Buffer.from(m.orderingKey);
  const attrBufs: Buffer[] = [];
  for (const [k, v] of attrs) attrBufs.push(Buffer.from(k), Buffer.from(v));
  let size = 2 + 24 + 2 + 2 + 2 + attrs.length * 6 + 4 + id.length + key.length + m.data.length;
  for (const b of attrBufs) size += b.length;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  out[o++] = VERSION;
  out[o++] = m.priority;
  o = out.writeDoubleBE(m.publishTimeMs, o);
  o = out.writeDoubleBE(m.deliverAtMs, o);
  o = out.writeDoubleBE(m.expireAtMs, o);
  o = out.writeUInt16BE(id.length, o);
  o = out.writeUInt16BE(key.length, o);
  o = out.writeUInt16BE(attrs.length, o);
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

/** Decodes a value written by {@link encodeMessage}. `data` is a view of `buf`. */
export function decodeMessage(buf: Buffer, topic: string, seq: number): StoredMessage {
  if (buf[0] !== VERSION) throw new Error(`unknown message encoding version ${buf[0]}`);
  const priority = buf[1] as number;
  const publishTimeMs = buf.readDoubleBE(2);
  const deliverAtMs = buf.readDoubleBE(10);
  const expireAtMs = buf.readDoubleBE(18);
  const idLen = buf.readUInt16BE(26);
  const keyLen = buf.readUInt16BE(28);
  const attrCount = buf.readUInt16BE(30);
  let o = 32;
  const lens: number[] = [];
  for (let i = 0; i < attrCount; i++) {
    lens.push(buf.readUInt16BE(o), buf.readUInt32BE(o + 2));
    o += 6;
  }
  const dataLen = buf.readUInt32BE(o);
  o += 4;
  const id = buf.toString("utf8", o, o + idLen);
  o += idLen;
  const orderingKey = buf.toString("utf8", o, o + keyLen);
  o += keyLen;
  const attributes: Record<string, string> = {};
  for (let i = 0; i < lens.length; i += 2) {
    const k = buf.toString("utf8", o, o + (lens[i] as number));
    o += lens[i] as number;
    attributes[k] = buf.toString("utf8", o, o + (lens[i + 1] as number));
    o += lens[i + 1] as number;
  }
  const data = buf.subarray(o, o + dataLen);
  return { topic, seq, id, data, attributes, publishTimeMs, priority, orderingKey, deliverAtMs, expireAtMs };
}

/** Reads only the priority of an encoded message. */
export function messagePriority(buf: Buffer): number {
  return buf[1] as number;
}

/** Reads only the publish time of an encoded message. */
export function messagePublishTime(buf: Buffer): number {
  return buf.readDoubleBE(2);
}

/** Reads only the payload size of an encoded message. */
export function messageDataBytes(buf: Buffer): number {
  const attrCount = buf.readUInt16BE(30);
  return buf.readUInt32BE(32 + attrCount * 6);
}

/** Reads only the id of an encoded message. */
export function messageId(buf: Buffer): string {
  const idLen = buf.readUInt16BE(26);
  const attrCount = buf.readUInt16BE(30);
  const start = 32 + attrCount * 6 + 4;
  return buf.toString("utf8", start, start + idLen);
}

/** Reads only the ordering key of an encoded message, as its UTF-8 bytes (a view of `buf`; empty: none). */
export function messageOrderingKeyBytes(buf: Buffer): Buffer {
  const idLen = buf.readUInt16BE(26);
  const keyLen = buf.readUInt16BE(28);
  const start = 32 + buf.readUInt16BE(30) * 6 + 4 + idLen;
  return buf.subarray(start, start + keyLen);
}

/** Reads only the deliver-at time of an encoded message (0: none). */
export function messageDeliverAt(buf: Buffer): number {
  return buf.readDoubleBE(10);
}
