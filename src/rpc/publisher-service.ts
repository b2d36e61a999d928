import type { ServiceImpl } from "@connectrpc/connect";
import type { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import type { Broker, PublishOutcome } from "../core/index.js";
import type { Logger } from "../util/index.js";
import { newMessage } from "./convert.js";
import { mapErrors } from "./to-connect-error.js";

/** PublisherService on the broker core. */
export function publisherService(broker: Broker, logger: Logger): ServiceImpl<typeof PublisherService> {
  return {
    // A promise chain, not an async function: no frame kept per call while the commit is awaited.
    publish: mapErrors(logger, (req) => broker.publish(req.topic, req.messages.map(newMessage)).then(publishResponse)),
  };
}

/** The PublishResponse (init) of the core's results. */
function publishResponse(results: readonly PublishOutcome[]) {
  return { results: results.map((r) => ({ seq: BigInt(r.seq), id: r.id, duplicate: r.duplicate })) };
}
