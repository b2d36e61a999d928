import type { DescMessage, DescMethodUnary, MessageShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { PublisherService } from "../../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../../gen/switchyard/v1/subscriber_pb.js";
import type { Broker } from "../../core/index.js";
import type { Logger } from "../../util/index.js";
import { publisherService } from "../publisher-service.js";
import { subscriberService } from "../subscriber-service.js";

/** A unary implementation with its input and output erased to "some message". */
export type AnyUnaryImpl = (request: MessageShape<DescMessage>, context: HandlerContext) => Promise<unknown>;

/** One method the lean path serves: its descriptor and the very implementation connect-node runs. */
export interface HotMethod {
  readonly method: DescMethodUnary;
  readonly impl: AnyUnaryImpl;
}

/**
 * The methods the lean path serves, keyed by request path (`/package.Service/Method`): the unary
 * calls that carry the message traffic. Their implementations are the same `ServiceImpl`
 * functions registered with connect-node (src/rpc/publisher-service.ts,
 * src/rpc/subscriber-service.ts), so both paths call the core identically.
 */
export function hotMethods(broker: Broker, logger: Logger): ReadonlyMap<string, HotMethod> {
  const publisher = publisherService(broker, logger);
  const subscriber = subscriberService(broker, logger);
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
