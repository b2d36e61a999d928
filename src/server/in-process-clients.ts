import { createClient, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { BrokerClients } from "../bridges/bridge.js";
import type { Broker } from "../core/index.js";
import { registerBrokerServices } from "../rpc/index.js";
import type { Logger } from "../util/index.js";
import { createInProcessTransport } from "./in-process-transport.js";

/**
 * Typed clients of our own services over an in-process router transport (README "Architecture"):
 * a bridge calls the same Protobuf services as any remote client, without a socket, and through
 * the same server interceptors (see `interceptors.ts`). Each call is marked in-process on the
 * handler side (`inProcessKey`), which no remote request can do.
 */
export function createInProcessClients(broker: Broker, logger: Logger, interceptors: Interceptor[]): BrokerClients {
  const transport = createInProcessTransport((router) => registerBrokerServices(router, { broker, logger }), {
    interceptors,
  });
  return {
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    replay: createClient(ReplayService, transport),
    admin: createClient(AdminService, transport),
  };
}
