/**
 * The RPC port (README "The API at a glance", "Limits and failure behaviour: The RPC port"):
 * Connect, gRPC and gRPC-web of every service through connect-node, health and reflection,
 * `/metrics` and `/healthz` beside them, the lean path in front unless `--lean-rpc off`, and the
 * bounds on what one client may hold (request bytes in flight, a body read only once its
 * credentials pass).
 *
 * @module
 */
import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_switchyard_v1_admin } from "../../gen/switchyard/v1/admin_pb.js";
import { file_switchyard_v1_errors } from "../../gen/switchyard/v1/errors_pb.js";
import { file_switchyard_v1_publisher } from "../../gen/switchyard/v1/publisher_pb.js";
import { file_switchyard_v1_replay } from "../../gen/switchyard/v1/replay_pb.js";
import { file_switchyard_v1_subscriber } from "../../gen/switchyard/v1/subscriber_pb.js";
import type { Authenticator } from "../auth/index.js";
import type { Config } from "../config/index.js";
import { type Broker, DEFAULT_LIMITS } from "../core/index.js";
import {
  createLeanRpc,
  registerBrokerServices,
  registerHealth,
  registerReflection,
  requestBudgetError,
} from "../rpc/index.js";
import { createByteBudget, type Logger, type PeerByteBudgets, sharePerPeer } from "../util/index.js";
import { createHeaderAuthCheck } from "./auth-interceptor.js";
import { callContextValues } from "./call-context.js";
import { createConnectAdapter } from "./connect-adapter.js";
import { createHttpEndpoints } from "./http-endpoints.js";
import { httpLimits } from "./http-limits.js";
import type { ServerMetrics } from "./metrics/index.js";
import { createOnePortListener, type NodeHandler, type OnePortListener } from "./one-port-listener.js";
import type { StoreHealth } from "./store-health.js";
import type { TlsSource } from "./tls-source.js";

/** The files whose services the RPC port serves; reflection answers from them and their imports. */
const SERVED_FILES: readonly DescFile[] = [
  file_switchyard_v1_publisher,
  file_switchyard_v1_subscriber,
  file_switchyard_v1_replay,
  file_switchyard_v1_admin,
  file_switchyard_v1_errors,
  file_grpc_health_v1_health,
  file_grpc_reflection_v1_reflection,
  file_grpc_reflection_v1alpha_reflection,
];

/** What the RPC port is built from: the running core and the server's shared parts. */
export interface RpcPortDeps {
  /** The broker core the services call. */
  broker: Broker;
  /** The validated config (limits, `--lean-rpc`, connection cap). */
  config: Config;
  logger: Logger;
  /** The server's one list of Connect interceptors (createServerInterceptors). */
  interceptors: Interceptor[];
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
  /** Checks a call's credentials from its headers, before its body is read. */
  auth: Authenticator;
  /** Feeds health (NOT_SERVING while the store fails or disk is low) and `/healthz`. */
  storeHealth: StoreHealth;
  /** Serves `/metrics`. */
  metrics: ServerMetrics;
  /** TLS on the port; undefined: plain TCP. */
  tls: TlsSource | undefined;
}

/** Largest request the RPC port reads: one Publish may carry a whole batch, plus room for the envelope. */
export function rpcReadMaxBytes(config: Config): number {
  const limits = { ...DEFAULT_LIMITS, maxMessageBytes: config.maxMessageBytes };
  return Math.max(limits.maxBatchBytes, limits.maxMessageBytes) + 1024 * 1024;
}

/** The connect-node handler (connect-adapter.ts) of every service, with `/metrics` and `/healthz` as its fallback. */
function buildHandler(deps: RpcPortDeps): NodeHandler {
  const { logger, shutdownSignal, storeHealth } = deps;
  const routes = (router: ConnectRouter) => {
    registerBrokerServices(router, { broker: deps.broker, logger });
    registerHealth(router, {
      shutdownSignal,
      services: SERVED_FILES.flatMap(serviceNames),
      notServing: storeHealth.notServing,
      onChange: storeHealth.onChange,
    });
    registerReflection(router, SERVED_FILES);
  };
  // connect-node's adapter but for the failures of clients that left (connect-adapter.ts).
  return createConnectAdapter({
    routes,
    logger,
    // gzip costs ~10x throughput on streams; clients on loopback gain nothing from it.
    acceptCompression: [],
    shutdownSignal,
    interceptors: deps.interceptors,
    // Each call's peer: host:port for the request-scoped log fields, the address for the
    // throttle of failed logins (the lean path gives the same values).
    contextValues: (req) => callContextValues(req.socket),
    readMaxBytes: rpcReadMaxBytes(deps.config),
    fallback: createHttpEndpoints({
      logger,
      shutdownSignal,
      metrics: deps.metrics,
      storeHealthz: storeHealth.healthz,
    }),
  });
}

/** The RPC port's listener (not bound yet): connect-node for everything, the lean path in front of it unless `--lean-rpc off`. */
export function createRpcListener(deps: RpcPortDeps): OnePortListener {
  const { config, logger, tls } = deps;
  const readMaxBytes = rpcReadMaxBytes(config);
  // A single request of the largest size always fits when it is alone; one client (an IPv4
  // address, an IPv6 /64) may hold at most half of the budget, so it cannot keep others busy.
  const total = createByteBudget(Math.max(config.rpcMaxRequestBytesInFlight, readMaxBytes));
  const requestBudget: PeerByteBudgets = sharePerPeer(total, Math.max(readMaxBytes, Math.floor(total.maxBytes / 2)));
  const overBudget = () => requestBudgetError(total, logger);
  // With auth on, a call's credentials are checked before any of its body is read.
  const checkHeaders = createHeaderAuthCheck(deps.auth, logger);
  const lean =
    config.leanRpc === "on"
      ? createLeanRpc({
          broker: deps.broker,
          logger,
          interceptors: deps.interceptors,
          shutdownSignal: deps.shutdownSignal,
          readMaxBytes,
          requestBudget,
          authenticate: (headers, peer) =>
            checkHeaders(headers[":path"] ?? "", stringHeader(headers.authorization), peer.remoteAddress ?? ""),
          // The same per-call values connect-node gets (the peer as it was when the stream was claimed).
          contextValues: (peer) => callContextValues(peer),
        })
      : undefined;
  return createOnePortListener({
    handler: buildHandler(deps),
    logger,
    ...(tls ? { tls } : {}),
    ...(lean ? { http2Streams: lean.serve } : {}),
    http2StreamReset: deps.metrics.rpcStreamReset,
    requestBudget,
    overBudget,
    bodyGate: (req) =>
      checkHeaders(req.url ?? "", stringHeader(req.headers.authorization), req.socket.remoteAddress ?? ""),
    limits: httpLimits(config, config.rpcMaxConnections),
  });
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function serviceNames(file: DescFile): string[] {
  return file.services.map((s) => s.typeName);
}
