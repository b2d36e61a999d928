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
import { PublishRequestSchema, PublishResponseSchema } from "../../../gen/switchyard/v1/publisher_pb.js";
import { PullResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
import { decodePublishRequest, encodePublishResponse } from "./publish-codec.js";
import { encodeReceivedBatch, type ReceivedBatchInit } from "./received-encoder.js";

/** connect-es reads JSON with unknown fields ignored (its `getJsonOptions`); so does the lean path. */
const JSON_READ = { ignoreUnknownFields: true } as const;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Parses a request message the way connect-node's serialization does: a binary message that does
 * not parse is INTERNAL `parse binary: …`; bad JSON is INVALID_ARGUMENT with the parser's message.
 */
export function parseMessage<D extends DescMessage>(schema: D, binary: boolean, bytes: Uint8Array): MessageShape<D> {
  if (binary) {
    if ((schema as DescMessage) === PublishRequestSchema) {
      // The hand-written decoder of the hottest request: the message fromBinary makes, or
      // undefined for anything it does not read exactly (then fromBinary decides, errors included).
      const fast = decodePublishRequest(bytes);
      if (fast !== undefined) return fast as unknown as MessageShape<D>;
    }
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
 * object the implementation returned: it is made a message (`create`) only where needed, since the
 * hand-written encoders of the hot responses read init objects directly.
 */
export function serializeMessage<D extends DescMessage>(
  schema: D,
  binary: boolean,
  message: MessageShape<D> | MessageInitShape<D>,
  prefixBytes = 0,
): Uint8Array {
  if (binary) {
    try {
      // A PullResponse is `repeated ReceivedMessage messages = 1`, as a SubscribeResponse: the
      // hand-written encoders give the same bytes (received-encoder.test.ts, publish-codec.test.ts)
      // without reflection.
      if ((schema as DescMessage) === PullResponseSchema) {
        return encodeReceivedBatch(message as ReceivedBatchInit, prefixBytes);
      }
      if ((schema as DescMessage) === PublishResponseSchema)
        return encodePublishResponse(message as never, prefixBytes);
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
