import type { ConnectRouter } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Broker } from "../core/index.js";
import type { Logger } from "../util/index.js";
import { adminService } from "./admin-service.js";
import { publisherService } from "./publisher-service.js";
import { replayService } from "./replay-service.js";
import { subscriberService } from "./subscriber-service.js";

/** Options of {@link registerBrokerServices}. */
export interface BrokerServicesOptions {
  broker: Broker;
  logger: Logger;
}

/** Registers PublisherService, SubscriberService, ReplayService and AdminService on a router. */
export function registerBrokerServices(router: ConnectRouter, { broker, logger }: BrokerServicesOptions): void {
  router.service(PublisherService, publisherService(broker, logger));
  router.service(SubscriberService, subscriberService(broker, logger));
  router.service(ReplayService, replayService(broker, logger));
  router.service(AdminService, adminService(broker, logger));
}

export { type HealthOptions, registerHealth } from "./health.js";
export { createLeanRpc, type LeanRpc, type LeanRpcOptions, requestBudgetError } from "./lean/index.js";
export { registerReflection } from "./reflection.js";
export { toConnectError } from "./to-connect-error.js";
