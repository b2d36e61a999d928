/**
 * Bodies of Connect unary calls: serialize and parse with connect-es's size limits and error
 * messages, and read an answer's length and chunks.
 */
import {
  type BinaryReadOptions,
  type BinaryWriteOptions,
  type DescMessage,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** The limits and protobuf options of a transport. */
export interface BodySettings {
  readMaxBytes: number;
  writeMaxBytes: number;
  binaryOptions: Partial<BinaryReadOptions & BinaryWriteOptions> | undefined;
}

export function serialize<I extends DescMessage>(s: BodySettings, desc: I, message: MessageShape<I>): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = toBinary(desc, message, s.binaryOptions);
  } catch (e) {
    throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
  if (bytes.byteLength > s.writeMaxBytes) {
    throw new ConnectError(
      `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${s.writeMaxBytes}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

export function parse<O extends DescMessage>(s: BodySettings, desc: O, bytes: Uint8Array): MessageShape<O> {
  if (bytes.byteLength > s.readMaxBytes) throw tooLarge(s.readMaxBytes, bytes.byteLength);
  try {
    return fromBinary(desc, bytes, s.binaryOptions);
  } catch (e) {
    throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
  }
}

export function tooLarge(readMaxBytes: number, size: number | undefined): ConnectError {
  const what = size === undefined ? "message size" : `message size ${size}`;
  return new ConnectError(`${what} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}

/** The content-length of an answer when it is a usable length, as connect-es reads it. */
export function lengthHint(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number.parseInt(raw, 10);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function joinChunks(chunks: Buffer[], total: number): Uint8Array {
  // A plain Uint8Array view (not a Buffer), so bytes fields parse as connect-es gives them.
  const one = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  return new Uint8Array(one.buffer, one.byteOffset, one.byteLength);
}

export function promised(hint: number, received: number): ConnectError {
  return new ConnectError(`protocol error: promised ${hint} bytes, received ${received}`, Code.InvalidArgument);
}
