import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  PublishRequest,
  PublishResponseSchema,
  PublishResultSchema,
} from "../../../gen/switchyard/v1/publisher_pb.js";
import type { PublishMessage } from "../../../gen/switchyard/v1/types_pb.js";
import { varint32Size, varint64Size, writeVarint32, writeVarint64 } from "./varint.js";

/**
 * Hand-written binary codec of the Publish call, the hottest unary method: a request decoder for
 * the well-formed messages clients send, and a response encoder that reads the implementation's
 * init object directly. Both give exactly what protobuf-es gives (publish-codec.test.ts checks
 * them against `fromBinary` and `toBinary(create(...))` with random messages).
 */

/** The protobuf-es type names the decoded messages carry (as `create` sets them). */
const REQUEST_TYPE = "switchyard.v1.PublishRequest";
const MESSAGE_TYPE = "switchyard.v1.PublishMessage";

/** Longest varint the fast path reads by hand (7 bytes: below 2^49, exact as a number). */
const MAX_FAST_VARINT_BYTES = 7;
/** Strings up to this length are built by char codes; longer ASCII ones by a latin1 Buffer read. */
const SHORT_STRING = 32;

/**
 * Decodes a PublishRequest in the binary format as `fromBinary(PublishRequestSchema, bytes)` does,
 * for the messages well-formed clients send: known fields with their own wire types, ASCII strings,
 * varints that fit in 49 bits. Anything else (unknown fields, which protobuf-es keeps in
 * `$unknown`; non-ASCII strings; long varints; truncated or malformed input) gives undefined, and
 * the caller decodes with `fromBinary`, which then yields its own result or error. So the result is
 * always the very message (or error) protobuf-es makes.
 */
export function decodePublishRequest(bytes: Uint8Array): PublishRequest | undefined {
  const r = new FastReader(bytes, 0, bytes.length);
  let topic = "";
  const messages: PublishMessage[] = [];
  while (r.pos < r.end) {
    const tag = r.tag();
    if (tag === 0x0a) {
      // 1: topic (string)
      const s = r.string();
      if (s === undefined) return undefined;
      topic = s;
    } else if (tag === 0x12) {
      // 2: messages (repeated PublishMessage)
      const len = r.varint();
      if (len < 0 || len > r.end - r.pos) return undefined;
      const m = decodePublishMessage(bytes, r.pos, r.pos + len);
      if (m === undefined) return undefined;
      r.pos += len;
      messages.push(m);
    } else {
      return undefined;
    }
  }
  if (r.failed) return undefined;
  return { $typeName: REQUEST_TYPE, topic, messages } as PublishRequest;
}

function decodePublishMessage(bytes: Uint8Array, start: number, end: number): PublishMessage | undefined {
  const r = new FastReader(bytes, start, end);
  let data: Uint8Array | undefined;
  let attributes: Record<string, string> | undefined;
  let id = "";
  let priority = 0;
  let orderingKey = "";
  let delayMs = 0n;
  let ttlMs = 0n;
  while (r.pos < r.end) {
    const tag = r.tag();
    switch (tag) {
      case 0x0a: {
        // 1: data (bytes), a view of the input as protobuf-es gives it
        const len = r.varint();
        if (len < 0 || len > r.end - r.pos) return undefined;
        data = bytes.subarray(r.pos, r.pos + len);
        r.pos += len;
        break;
      }
      case 0x12: {
        // 2: attributes (map<string, string>), one entry
        const len = r.varint();
        if (len < 0 || len > r.end - r.pos) return undefined;
        const entryEnd = r.pos + len;
        const entry = new FastReader(bytes, r.pos, entryEnd);
        let key = "";
        let value = "";
        while (entry.pos < entry.end) {
          const t = entry.tag();
          const s = t === 0x0a || t === 0x12 ? entry.string() : undefined;
          if (s === undefined) return undefined;
          if (t === 0x0a) key = s;
          else value = s;
        }
        if (entry.failed) return undefined;
        attributes ??= {};
        // A key may be "__proto__": defined as an own property, as protobuf-es's setOwn does.
        if (key === "__proto__") Object.defineProperty(attributes, key, ENTRY(value));
        else attributes[key] = value;
        r.pos = entryEnd;
        break;
      }
      case 0x1a: {
        // 3: id (string)
        const s = r.string();
        if (s === undefined) return undefined;
        id = s;
        break;
      }
      case 0x20: {
        // 4: priority (uint32)
        const v = r.varint();
        if (v < 0 || v > 0xffff_ffff) return undefined;
        priority = v;
        break;
      }
      case 0x2a: {
        // 5: ordering_key (string)
        const s = r.string();
        if (s === undefined) return undefined;
        orderingKey = s;
        break;
      }
      case 0x30: {
        // 6: delay_ms (uint64)
        const v = r.varint();
        if (v < 0) return undefined;
        delayMs = BigInt(v);
        break;
      }
      case 0x38: {
        // 7: ttl_ms (uint64)
        const v = r.varint();
        if (v < 0) return undefined;
        ttlMs = BigInt(v);
        break;
      }
      default:
        return undefined;
    }
  }
  if (r.failed) return undefined;
  return {
    $typeName: MESSAGE_TYPE,
    data: data ?? new Uint8Array(0),
    attributes: attributes ?? {},
    id,
    priority,
    orderingKey,
    delayMs,
    ttlMs,
  } as PublishMessage;
}

function ENTRY(value: string): PropertyDescriptor {
  return { value, enumerable: true, configurable: true, writable: true };
}

/**
 * Reads varints and ASCII strings in `[pos, end)`. A varint it does not read exactly (longer than
 * {@link MAX_FAST_VARINT_BYTES}, or past the end) returns -1 and sets `failed`.
 */
class FastReader {
  failed = false;

  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    readonly end: number,
  ) {}

  /** A one-byte tag (every field here is below 16), or -1 for anything else (read no further). */
  tag(): number {
    const b = this.buf[this.pos++] as number;
    if (b < 0x80) return b;
    this.failed = true;
    this.pos = this.end;
    return -1;
  }

  varint(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < MAX_FAST_VARINT_BYTES && pos < end; i++) {
      const b = buf[pos++] as number;
      result += (b & 0x7f) * multiplier;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      multiplier *= 128;
    }
    this.failed = true;
    this.pos = end;
    return -1;
  }

  /** A length-delimited ASCII string; undefined for non-ASCII text or a bad length. */
  string(): string | undefined {
    const len = this.varint();
    if (len < 0 || len > this.end - this.pos) return undefined;
    const { buf } = this;
    const start = this.pos;
    const stop = start + len;
    let s = "";
    if (len <= SHORT_STRING) {
      for (let i = start; i < stop; i++) {
        const b = buf[i] as number;
        if (b > 0x7f) return undefined;
        s += String.fromCharCode(b);
      }
    } else {
      for (let i = start; i < stop; i++) if ((buf[i] as number) > 0x7f) return undefined;
      s = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString("latin1", start, stop);
    }
    this.pos = stop;
    return s;
  }
}

/** What a Publish implementation returns: a PublishResponse or its init object. */
export type PublishResponseInit = MessageInitShape<typeof PublishResponseSchema>;
type PublishResultInit = MessageInitShape<typeof PublishResultSchema>;

/**
 * Encodes a PublishResponse (an init object as the implementation returns it, or the message) in
 * the binary format, giving exactly the bytes of `toBinary(PublishResponseSchema,
 * create(PublishResponseSchema, init))`: fields in number order, zero values left out, minimal
 * varints. `prefixBytes` bytes are left free at the start (for an envelope header the caller writes).
 */
export function encodePublishResponse(init: PublishResponseInit, prefixBytes = 0): Buffer {
  const results = init.results ?? [];
  const n = results.length;
  // Each result's seq, id length and size, worked out once for the sizing and the writing.
  const seqs: bigint[] = new Array(n);
  const idLengths: number[] = new Array(n);
  const sizes: number[] = new Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const r = results[i] as PublishResultInit;
    const seq = uint64Of(r.seq);
    const idLength = r.id !== undefined && r.id.length > 0 ? Buffer.byteLength(r.id, "utf8") : 0;
    let size = seq !== 0n ? 1 + varint64Size(seq) : 0;
    if (idLength > 0) size += 1 + varint32Size(idLength) + idLength;
    if (r.duplicate === true) size += 2;
    seqs[i] = seq;
    idLengths[i] = idLength;
    sizes[i] = size;
    total += 1 + varint32Size(size) + size;
  }
  const out = Buffer.allocUnsafe(prefixBytes + total);
  let pos = prefixBytes;
  for (let i = 0; i < n; i++) {
    const r = results[i] as PublishResultInit;
    out[pos++] = 0x0a; // field 1, length-delimited
    pos = writeVarint32(out, pos, sizes[i] as number);
    const seq = seqs[i] as bigint;
    if (seq !== 0n) {
      out[pos++] = 0x08; // field 1 (seq), varint
      pos = writeVarint64(out, pos, seq);
    }
    const len = idLengths[i] as number;
    if (len > 0) {
      out[pos++] = 0x12; // field 2 (id), length-delimited
      pos = writeVarint32(out, pos, len);
      pos += out.write(r.id as string, pos, len, "utf8");
    }
    if (r.duplicate === true) {
      out[pos++] = 0x18; // field 3 (duplicate), varint
      out[pos++] = 1;
    }
  }
  if (pos !== out.length) throw new Error(`publish encoder wrote ${pos} of ${out.length} bytes`);
  return out;
}

/** A uint64 field's value as protobuf-es writes it (two's complement for negative input). */
function uint64Of(v: bigint | number | string | undefined): bigint {
  if (v === undefined) return 0n;
  return BigInt.asUintN(64, typeof v === "bigint" ? v : BigInt(v));
}
