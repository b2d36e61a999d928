import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { BrokerClients } from "../bridges/bridge.js";
import type { Broker } from "../core/index.js";
import { registerBrokerServices } from "../rpc/index.js";
import type { Logger } from "../util/index.js";
import { IN_PROCESS_HEADER } from "./metrics/index.js";

/**
 * Typed clients of our own services over an in-process router transport (README "Architecture"):
 * a bridge calls the same Protobuf services as any remote client, without a socket, and through
 * the same server interceptors (see `interceptors.ts`).
 */
export function createInProcessClients(broker: Broker, logger: Logger, interceptors: Interceptor[]): BrokerClients {
  // Marks each call, so the RPC metrics count bridge calls apart from remote ones.
  const mark: Interceptor = (next) => (req) => {
    req.header.set(IN_PROCESS_HEADER, "1");
    return next(req);
  };
  const transport = createRouterTransport((router) => registerBrokerServices(router, { broker, logger }), {
    router: { interceptors },
    transport: { interceptors: [mark] },
  });
  return {
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    replay: createClient(ReplayService, transport),
    admin: createClient(AdminService, transport),
  };
}
