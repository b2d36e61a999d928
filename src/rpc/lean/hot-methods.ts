import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { Broker } from "../../core/index.js";
import type { Logger } from "../../util/index.js";
import { publisherService } from "../publisher-service.js";
import { subscriberService } from "../subscriber-service.js";
import { encodeReceivedBatch, type ReceivedBatchInit } from "./received-encoder.js";

/** A unary implementation with its input and output erased to "some message". */
export type AnyUnaryImpl = (request: MessageShape<DescMessage>, context: HandlerContext) => Promise<unknown>;

/** One method the lean path serves: its descriptor and the very implementation connect-node runs. */
export interface HotMethod {
  readonly method: DescMethodUnary;
  readonly impl: AnyUnaryImpl;
}

/** A server-streaming implementation with its input and output erased to "some message". */
export type AnyStreamImpl = (request: MessageShape<DescMessage>, context: HandlerContext) => AsyncIterable<unknown>;

/** A server-streaming method the lean path serves: its descriptor and the implementation connect-node runs. */
export interface HotStreamMethod {
  readonly method: DescMethodServerStreaming;
  readonly impl: AnyStreamImpl;
  /**
   * Encodes one output of the implementation (what it yields) in the binary format, after
   * `prefixBytes` free bytes: the bytes `toBinary(output schema, create(output schema, value))` gives.
   */
  readonly encode: (output: unknown, prefixBytes: number) => Buffer;
}

/** A method of the lean path, unary or server-streaming. */
export type LeanMethod = HotMethod | HotStreamMethod;

/**
 * The methods the lean path serves, keyed by request path (`/package.Service/Method`): the unary
 * calls that carry the message traffic. Their implementations are the same `ServiceImpl`
 * functions registered with connect-node (src/rpc/publisher-service.ts,
 * src/rpc/subscriber-service.ts), so both paths call the core identically.
 */
export function hotMethods(broker: Broker, logger: Logger): ReadonlyMap<string, HotMethod> {
  const publisher = publisherService(broker, logger);
  const subscriber = subscriberService(broker, logger);
  return hotMethodsOf(publisher, subscriber);
}

/**
 * The server-streaming methods the lean path serves (Subscribe), keyed by request path, with the
 * implementation registered with connect-node (src/rpc/subscriber-service.ts).
 */
export function hotStreamMethods(broker: Broker, logger: Logger): ReadonlyMap<string, HotStreamMethod> {
  const subscriber = subscriberService(broker, logger);
  const method = SubscriberService.method.subscribe;
  const hot: HotStreamMethod = {
    method,
    impl: subscriber.subscribe as unknown as AnyStreamImpl,
    encode: (output, prefixBytes) => encodeReceivedBatch(output as ReceivedBatchInit, prefixBytes),
  };
  return new Map([[`/${method.parent.typeName}/${method.name}`, hot]]);
}

function hotMethodsOf(
  publisher: ReturnType<typeof publisherService>,
  subscriber: ReturnType<typeof subscriberService>,
): ReadonlyMap<string, HotMethod> {
  const entries: [DescMethodUnary, unknown][] = [
    [PublisherService.method.publish, publisher.publish],
    [SubscriberService.method.pull, subscriber.pull],
    [SubscriberService.method.ack, subscriber.ack],
    [SubscriberService.method.nack, subscriber.nack],
    [SubscriberService.method.modifyAckDeadline, subscriber.modifyAckDeadline],
  ];
  return new Map(
    entries.map(([method, impl]) => [
      `/${method.parent.typeName}/${method.name}`,
      { method, impl: impl as AnyUnaryImpl } satisfies HotMethod,
    ]),
  );
}
