import type { ServiceImpl } from "@connectrpc/connect";
import type { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import type { Broker, PublishOutcome } from "../core/index.js";
import type { Logger } from "../util/index.js";
import { newMessage } from "./convert.js";
import { mapErrorsThen } from "./to-connect-error.js";

/** PublisherService on the broker core. */
export function publisherService(broker: Broker, logger: Logger): ServiceImpl<typeof PublisherService> {
  return {
    // A promise chain, not an async function: no frame kept per call while the commit is awaited,
    // and the response is made in the reaction that maps errors (one promise per call, not two).
    publish: mapErrorsThen(logger, (req) => broker.publish(req.topic, req.messages.map(newMessage)), publishResponse),
  };
}

/** The PublishResponse (init) of the core's results. */
function publishResponse(results: readonly PublishOutcome[]) {
  return { results: results.map((r) => ({ seq: BigInt(r.seq), id: r.id, duplicate: r.duplicate })) };
}
