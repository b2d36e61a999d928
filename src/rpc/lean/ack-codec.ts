import type { AckRequest } from "../../../gen/switchyard/v1/subscriber_pb.js";

/**
 * A hand-written binary decoder of the AckRequest, which a consumer sends once per batch it
 * received: the ack ids it carries are read as latin1 strings in one call each, without
 * protobuf-es's reflective walk (a field lookup and a TextDecoder call per id).
 */

/** The protobuf-es type name the decoded message carries (as `create` sets it). */
const REQUEST_TYPE = "switchyard.v1.AckRequest";

/** Longest length prefix read here (4 bytes: below 2^28); longer ones take protobuf-es's path. */
const MAX_LENGTH_BYTES = 4;

/**
 * Decodes an AckRequest in the binary format as `fromBinary(AckRequestSchema, bytes)` does, for
 * the messages well-formed clients send: its three string fields (any order, repeated or not),
 * ASCII text. Anything else (an unknown field, which protobuf-es keeps in `$unknown`; non-ASCII
 * text, which it decodes as UTF-8; another wire type; truncated input) gives undefined, and the
 * caller decodes with `fromBinary`, which then yields its own result or error. So the result is
 * always the very message (or error) protobuf-es makes (ack-codec.test.ts).
 */
export function decodeAckRequest(bytes: Uint8Array): AckRequest | undefined {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let subscription = "";
  const ackIds: string[] = [];
  const messageIds: string[] = [];
  const end = buf.length;
  let pos = 0;
  while (pos < end) {
    const tag = buf[pos++] as number;
    if (tag !== 0x0a && tag !== 0x12 && tag !== 0x1a) return undefined;
    // The length prefix: a varint of at most MAX_LENGTH_BYTES bytes.
    let len = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end || shift >= 7 * MAX_LENGTH_BYTES) return undefined;
      const b = buf[pos++] as number;
      len |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const stop = pos + len;
    if (stop > end) return undefined;
    for (let i = pos; i < stop; i++) if ((buf[i] as number) > 0x7f) return undefined;
    const s = buf.toString("latin1", pos, stop);
    pos = stop;
    if (tag === 0x0a) subscription = s;
    else if (tag === 0x12) ackIds.push(s);
    else messageIds.push(s);
  }
  return { $typeName: REQUEST_TYPE, subscription, ackIds, messageIds } as AckRequest;
}
