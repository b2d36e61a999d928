import {
  type DescMessage,
  fromBinary,
  fromJsonString,
  type MessageShape,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { PullResponseSchema } from "../../../gen/switchyard/v1/subscriber_pb.js";
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

/** Serializes a response message as connect-node does (binary, or canonical JSON). */
export function serializeMessage<D extends DescMessage>(
  schema: D,
  binary: boolean,
  message: MessageShape<D>,
): Uint8Array {
  if (binary) {
    try {
      // A PullResponse is `repeated ReceivedMessage messages = 1`, as a SubscribeResponse: the
      // hand-written encoder gives the same bytes (received-encoder.test.ts) without reflection.
      if ((schema as DescMessage) === PullResponseSchema) return encodeReceivedBatch(message as ReceivedBatchInit);
      return toBinary(schema, message);
    } catch (e) {
      throw new ConnectError(`serialize binary: ${e instanceof Error ? e.message : String(e)}`, Code.Internal);
    }
  }
  try {
    return encoder.encode(toJsonString(schema, message));
  } catch (e) {
    throw ConnectError.from(e, Code.Internal);
  }
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
