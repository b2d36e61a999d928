import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { Broker } from "../../core/index.js";
import type { Logger } from "../../util/index.js";
import { ReceivedDeliveries } from "../convert.js";
import { publisherService } from "../publisher-service.js";
import { subscriberService } from "../subscriber-service.js";
import { decodeAckRequest } from "./ack-codec.js";
import type { FastDecode, FastEncode } from "./codec.js";
import { encodeDeliveries, encodeReceivedInit } from "./delivery-encoder.js";
import { decodePublishRequest, encodePublishResponse, type PublishResponseInit } from "./publish-codec.js";

/** A unary implementation with its input and output erased to "some message". */
export type AnyUnaryImpl = (request: MessageShape<DescMessage>, context: HandlerContext) => Promise<unknown>;

/** One method the lean path serves: its descriptor and the very implementation connect-node runs. */
export interface HotMethod {
  readonly method: DescMethodUnary;
  readonly impl: AnyUnaryImpl;
  /** A hand-written binary decoder of the request, proven equal to protobuf-es's (publish-codec.test.ts). */
  readonly decode?: FastDecode;
  /** A hand-written binary encoder of the response, proven equal to protobuf-es's. */
  readonly encode?: FastEncode;
}

/** A server-streaming implementation with its input and output erased to "some message". */
export type AnyStreamImpl = (request: MessageShape<DescMessage>, context: HandlerContext) => AsyncIterable<unknown>;

/** A server-streaming method the lean path serves: its descriptor and the implementation connect-node runs. */
export interface HotStreamMethod {
  readonly method: DescMethodServerStreaming;
  readonly impl: AnyStreamImpl;
  /** A hand-written binary decoder of the request, if it has one. */
  readonly decode?: FastDecode;
  /**
   * Encodes one output of the implementation (what it yields) in the binary format, after
   * `prefixBytes` free bytes: the bytes `toBinary(output schema, create(output schema, value))` gives.
   */
  readonly encode: FastEncode;
}

/** A method of the lean path, unary or server-streaming. */
export type LeanMethod = HotMethod | HotStreamMethod;

/** What the lean path serves, each map keyed by request path (`/package.Service/Method`). */
export interface LeanMethods {
  /** The unary calls that carry the message traffic. */
  readonly unary: ReadonlyMap<string, HotMethod>;
  /** The server streams (Subscribe). */
  readonly stream: ReadonlyMap<string, HotStreamMethod>;
}

/**
 * The methods the lean path serves. Their implementations are the same `ServiceImpl` functions
 * connect-node is given (src/rpc/publisher-service.ts, src/rpc/subscriber-service.ts), made once
 * here for the lean path, so both paths call the core identically.
 */
export function leanMethods(broker: Broker, logger: Logger): LeanMethods {
  const subscriber = subscriberService(broker, logger);
  const subscribe: HotStreamMethod = {
    method: SubscriberService.method.subscribe,
    impl: subscriber.subscribe as unknown as AnyStreamImpl,
    encode: encodeReceived,
  };
  return {
    unary: new Map(hotUnaryMethods(broker, logger, subscriber).map((m) => [pathOf(m.method), m])),
    stream: new Map([[pathOf(subscribe.method), subscribe]]),
  };
}

/**
 * The unary methods that carry the message traffic (Publish, Pull, Ack, Nack,
 * ModifyAckDeadline) with the implementations connect-node runs: the lean path serves them, and
 * the bridges' in-process clients call them without encoding (src/server/in-process-transport.ts).
 */
export function hotUnaryMethods(
  broker: Broker,
  logger: Logger,
  subscriber = subscriberService(broker, logger),
): HotMethod[] {
  const publisher = publisherService(broker, logger);
  const hot = (method: DescMethodUnary, impl: unknown, codec: Pick<HotMethod, "decode" | "encode"> = {}) => ({
    method,
    impl: impl as AnyUnaryImpl,
    ...codec,
  });
  return [
    hot(PublisherService.method.publish, publisher.publish, {
      decode: decodePublishRequest,
      encode: (output, prefixBytes) => encodePublishResponse(output as PublishResponseInit, prefixBytes),
    }),
    // A PullResponse is `repeated ReceivedMessage messages = 1`, as a SubscribeResponse.
    hot(SubscriberService.method.pull, subscriber.pull, { encode: encodeReceived }),
    hot(SubscriberService.method.ack, subscriber.ack, { decode: decodeAckRequest }),
    hot(SubscriberService.method.nack, subscriber.nack),
    hot(SubscriberService.method.modifyAckDeadline, subscriber.modifyAckDeadline),
  ];
}

/**
 * SubscribeResponse and PullResponse bytes from what the implementation returns or yields: its
 * deliveries by the hand-written encoder, anything else (an interceptor's own response) by protobuf-es.
 */
const encodeReceived: FastEncode = (output, prefixBytes) =>
  output instanceof ReceivedDeliveries
    ? encodeDeliveries(output.deliveries, prefixBytes)
    : encodeReceivedInit(output as Parameters<typeof encodeReceivedInit>[0], prefixBytes);

function pathOf(method: DescMethodUnary | DescMethodServerStreaming): string {
  return `/${method.parent.typeName}/${method.name}`;
}
