import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { BridgeMetrics, BrokerClients, TcpBridge } from "../bridges/bridge.js";
import { createOkqBridge } from "../bridges/okq/index.js";
import type { Config } from "../config/index.js";
import { type Broker, DEFAULT_LIMITS } from "../core/index.js";
import { registerBrokerServices } from "../rpc/index.js";
import type { Logger } from "../util/index.js";
import { createTcpListener, type TcpListener } from "./tcp-listener.js";

/**
 * Typed clients of our own services over an in-process router transport (architecture.md §2.3):
 * a bridge calls the same Protobuf services as any remote client, without a socket.
 */
export function createInProcessClients(broker: Broker, logger: Logger, interceptors: Interceptor[]): BrokerClients {
  const transport = createRouterTransport((router) => registerBrokerServices(router, { broker, logger }), {
    router: { interceptors },
  });
  return {
    publisher: createClient(PublisherService, transport),
    subscriber: createClient(SubscriberService, transport),
    admin: createClient(AdminService, transport),
  };
}

/** The okQ bridge with its TCP listener. */
export interface OkqListener {
  bridge: TcpBridge;
  listener: TcpListener;
}

/** Builds the okQ bridge (options from the config) and its listener; nothing is bound yet. */
export function createOkqListener(options: {
  clients: BrokerClients;
  config: Config;
  logger: Logger;
  metrics: BridgeMetrics;
  shutdownSignal: AbortSignal;
}): OkqListener {
  const { config } = options;
  const bridge = createOkqBridge(
    {
      clients: options.clients,
      logger: options.logger,
      metrics: options.metrics,
      shutdownSignal: options.shutdownSignal,
    },
    {
      maxMessageBytes: config.maxMessageBytes,
      maxLeaseSeconds: Math.floor(DEFAULT_LIMITS.maxAckDeadlineMs / 1000),
      qstatusFormat: config.okqQstatus,
    },
  );
  return { bridge, listener: createTcpListener(bridge, options.logger) };
}
