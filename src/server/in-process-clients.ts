import { createClient, createRouterTransport, type Interceptor } from "@connectrpc/connect";
import { AdminService } from "../../gen/switchyard/v1/admin_pb.js";
import { PublisherService } from "../../gen/switchyard/v1/publisher_pb.js";
import { ReplayService } from "../../gen/switchyard/v1/replay_pb.js";
import { SubscriberService } from "../../gen/switchyard/v1/subscriber_pb.js";
import { type Principal, SERVER_PRINCIPAL } from "../auth/index.js";
import type { BrokerClients } from "../bridges/bridge.js";
import type { Broker } from "../core/index.js";
import { registerBrokerServices } from "../rpc/index.js";
import { hotUnaryMethods } from "../rpc/lean/hot-methods.js";
import type { Logger } from "../util/index.js";
import { IN_PROCESS_PRINCIPAL } from "./auth-interceptor.js";
import { inProcessKey } from "./in-process-marker.js";
import { createDirectTransport } from "./in-process-transport.js";

/** In-process clients per principal (see {@link createInProcessClientFactory}). */
export type ClientsAs = (principal: Principal) => BrokerClients;

/**
 * Typed clients of our own services over an in-process router transport (README "Architecture"):
 * a bridge calls the same Protobuf services as any remote client, without a socket, and through
 * the same server interceptors (see `interceptors.ts`). Each principal gets its own clients,
 * whose calls carry it in a context value the auth interceptor reads, and are marked in-process
 * ({@link inProcessKey}, for the RPC metrics) the same way: remote calls cannot set either.
 * Clients are made once per principal and kept as long as the principal is.
 */
export function createInProcessClientFactory(broker: Broker, logger: Logger, interceptors: Interceptor[]): ClientsAs {
  const made = new WeakMap<Principal, BrokerClients>();
  // The message traffic skips encoding (in-process-transport.ts): same interceptors, same implementations.
  const direct = new Map(hotUnaryMethods(broker, logger).map((m) => [m.method, m.impl]));
  return (principal) => {
    let clients = made.get(principal);
    if (!clients) {
      // Binds the principal and marks the call in-process on the handler side (the RPC metrics
      // count bridge calls apart from remote ones): only this router runs it, and a remote call
      // cannot set context values the way it could send a header. One interceptor for both.
      const bind: Interceptor = (next) => (req) => {
        req.contextValues.set(IN_PROCESS_PRINCIPAL, principal).set(inProcessKey, true);
        return next(req);
      };
      const chain = [bind, ...interceptors];
      const router = createRouterTransport((r) => registerBrokerServices(r, { broker, logger }), {
        router: { interceptors: chain },
      });
      const transport = createDirectTransport(router, direct, chain);
      clients = {
        publisher: createClient(PublisherService, transport),
        subscriber: createClient(SubscriberService, transport),
        replay: createClient(ReplayService, transport),
        admin: createClient(AdminService, transport),
      };
      made.set(principal, clients);
    }
    return clients;
  };
}

/** In-process clients of the server itself ({@link SERVER_PRINCIPAL}: every permission). */
export function createInProcessClients(broker: Broker, logger: Logger, interceptors: Interceptor[]): BrokerClients {
  return createInProcessClientFactory(broker, logger, interceptors)(SERVER_PRINCIPAL);
}
