import {
  create,
  type DescMessage,
  fromBinary,
  fromJsonString,
  type MessageInitShape,
  type MessageShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * A hand-written binary decoder of one request type: the message `fromBinary` makes, or undefined
 * for anything it does not read exactly (then `fromBinary` decides, errors included).
 */
export type FastDecode = (bytes: Uint8Array) => unknown;

/**
 * A hand-written binary encoder of one response type: the bytes of `toBinary(schema,
 * create(schema, output))` after `prefixBytes` free bytes, from the message or its init object.
 */
export type FastEncode = (output: unknown, prefixBytes: number) => Buffer;

/** connect-es reads JSON with unknown fields ignored (its `getJsonOptions`); so does the lean path. */
const JSON_READ = { ignoreUnknownFields: true } as const;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Parses a request message the way connect-node's serialization does: a binary message that does
 * not parse is INTERNAL `parse binary: …`; bad JSON is INVALID_ARGUMENT with the parser's message.
 * `fast`: the method's hand-written binary decoder, if it has one (hot-methods.ts).
 */
export function parseMessage<D extends DescMessage>(
  schema: D,
  binary: boolean,
  bytes: Uint8Array,
  fast?: FastDecode,
): MessageShape<D> {
  if (binary) {
    const decoded = fast?.(bytes);
    if (decoded !== undefined) return decoded as MessageShape<D>;
    try {
      return fromBinary(schema, bytes);
    } catch (e) {
      throw new ConnectError(`parse binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
  }
  try {
    return fromJsonString(schema, decoder.decode(bytes), JSON_READ);
  } catch (e) {
    throw ConnectError.from(e, Code.InvalidArgument);
  }
}

/**
 * Serializes a response as connect-node does (binary, or canonical JSON), after `prefixBytes` free
 * bytes (for an envelope header the caller writes). The response may be the message or the init
 * object the implementation returned: it is made a message (`create`) only where needed, since a
 * method's hand-written binary encoder (`fast`, hot-methods.ts) reads init objects directly.
 */
export function serializeMessage<D extends DescMessage>(
  schema: D,
  binary: boolean,
  message: MessageShape<D> | MessageInitShape<D>,
  prefixBytes = 0,
  fast?: FastEncode,
): Uint8Array {
  if (binary) {
    try {
      if (fast !== undefined) return fast(message, prefixBytes);
      return prefixed(toBinary(schema, create(schema, message as MessageInitShape<D>)), prefixBytes);
    } catch (e) {
      throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
  }
  try {
    return prefixed(encoder.encode(toJsonString(schema, create(schema, message as MessageInitShape<D>))), prefixBytes);
  } catch (e) {
    throw ConnectError.from(e, Code.Internal);
  }
}

/** `bytes` after `prefixBytes` free bytes (itself when there are none). */
function prefixed(bytes: Uint8Array, prefixBytes: number): Uint8Array {
  if (prefixBytes === 0) return bytes;
  const out = Buffer.allocUnsafe(prefixBytes + bytes.length);
  out.set(bytes, prefixBytes);
  return out;
}

/** Any failure as the ConnectError connect-node would render: anything else is a generic INTERNAL. */
export function asConnectError(e: unknown): ConnectError {
  return e instanceof ConnectError ? e : new ConnectError("internal error", Code.Internal, undefined, undefined, e);
}

/** The `message size … is larger than configured readMaxBytes …` error of connect's read limit. */
export function readLimitError(readMaxBytes: number, bytes?: number): ConnectError {
  const size = bytes === undefined ? "message size" : `message size ${bytes}`;
  return new ConnectError(`${size} is larger than configured readMaxBytes ${readMaxBytes}`, Code.ResourceExhausted);
}
