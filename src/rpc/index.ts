import type { ConnectRouter } from "@connectrpc/connect";
import type { Broker } from "../core/index.js";
import type { Logger } from "../util/index.js";

/** Options of {@link registerBrokerServices}. */
export interface BrokerServicesOptions {
  broker: Broker;
  logger: Logger;
}

/** Registers PublisherService, SubscriberService, ReplayService and AdminService on a router. */
export function registerBrokerServices(_router: ConnectRouter, _options: BrokerServicesOptions): void {
  throw new Error("not implemented yet");
}
