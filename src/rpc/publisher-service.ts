import type { ServiceImpl } from "@connectrpc/connect";
import type { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import type { Broker } from "../core/index.js";
import type { Logger } from "../util/index.js";
import { newMessage } from "./convert.js";
import { mapErrors } from "./to-connect-error.js";

/** PublisherService on the broker core. */
export function publisherService(broker: Broker, logger: Logger): ServiceImpl<typeof PublisherService> {
  return {
    publish: mapErrors(logger, async (req) => ({
      results: (await broker.publish(req.topic, req.messages.map(newMessage))).map((r) => ({
        seq: BigInt(r.seq),
        id: r.id,
        duplicate: r.duplicate,
      })),
    })),
  };
}
