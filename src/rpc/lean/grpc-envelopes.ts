import { Code, ConnectError } from "@connectrpc/connect";
import { createEndStreamSerialization, endStreamFlag } from "@connectrpc/connect/protocol-connect";
import { readLimitError } from "./codec.js";

const endStream = createEndStreamSerialization(undefined);

/** A length-prefixed gRPC message: flags byte, then the message bytes. */
export interface Envelope {
  readonly flags: number;
  readonly data: Uint8Array;
}

/** Flag bit of a compressed envelope (gRPC over HTTP/2, "Length-Prefixed-Message"). */
export const COMPRESSED_FLAG = 0b0000_0001;

/** Bytes of an envelope's header: the flags byte and the message's length (32 bits, big-endian). */
export const ENVELOPE_HEADER_BYTES = 5;

/**
 * Writes the header of an envelope into the first {@link ENVELOPE_HEADER_BYTES} of `out`, whose
 * rest is the message: `flags`, then the message's length. Returns `out`.
 */
export function sealEnvelope(out: Buffer, flags: number): Buffer {
  out[0] = flags;
  out.writeUInt32BE(out.length - ENVELOPE_HEADER_BYTES, 1);
  return out;
}

/**
 * The Connect streaming protocol's end-stream envelope (flag 0b10): the trailers and, when the
 * call failed, its error, as connect's end-stream serialization writes them.
 */
export function connectEndStream(trailer: Headers, error: ConnectError | undefined): Buffer {
  const data = endStream.serialize({ metadata: trailer, ...(error !== undefined ? { error } : {}) });
  const out = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + data.length);
  out.set(data, ENVELOPE_HEADER_BYTES);
  return sealEnvelope(out, endStreamFlag);
}

/**
 * Splits a request body into envelopes as bytes arrive. An envelope whose header announces more
 * than `readMaxBytes` fails at once, before its bytes are buffered, with the error connect's
 * envelope decoder raises; so does a chunk that completes envelopes before it (all of a chunk is
 * split before any of its envelopes is handed on, as connect does).
 */
export class EnvelopeSplitter {
  private readonly parts: Buffer[] = [];
  private buffered = 0;
  private pendingFlags = 0;
  private pendingLength: number | undefined;

  constructor(private readonly readMaxBytes: number) {}

  /** Bytes held that belong to no complete envelope yet. */
  get byteLength(): number {
    return this.buffered;
  }

  /** Adds a chunk; returns the envelopes it completed. Throws RESOURCE_EXHAUSTED past the limit. */
  push(chunk: Buffer): Envelope[] {
    this.parts.push(chunk);
    this.buffered += chunk.length;
    const out: Envelope[] = [];
    for (;;) {
      if (this.pendingLength === undefined) {
        if (this.buffered < ENVELOPE_HEADER_BYTES) return out;
        const header = this.take(ENVELOPE_HEADER_BYTES);
        const length = header.readUInt32BE(1);
        if (length > this.readMaxBytes) throw readLimitError(this.readMaxBytes, length);
        this.pendingFlags = header[0] as number;
        this.pendingLength = length;
      }
      if (this.buffered < this.pendingLength) return out;
      out.push({ flags: this.pendingFlags, data: this.take(this.pendingLength) });
      this.pendingLength = undefined;
    }
  }

  /**
   * Ends the body: bytes left over are `protocol error: incomplete envelope`. A header whose
   * message bytes never came leaves no bytes over, so it passes, as in connect's decoder.
   */
  end(): void {
    if (this.buffered > 0) {
      throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
    }
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.parts[0] as Buffer;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let offset = 0;
      while (offset < n) {
        const part = this.parts[0] as Buffer;
        const used = Math.min(part.length, n - offset);
        part.copy(out, offset, 0, used);
        offset += used;
        if (used === part.length) this.parts.shift();
        else this.parts[0] = part.subarray(used);
      }
    }
    this.buffered -= n;
    return out;
  }
}
