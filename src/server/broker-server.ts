import { setMaxListeners } from "node:events";
import type { DescFile } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { file_grpc_health_v1_health } from "../../gen/grpc/health/v1/health_pb.js";
import { file_grpc_reflection_v1_reflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { file_grpc_reflection_v1alpha_reflection } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { file_switchyard_v1_admin } from "../../gen/switchyard/v1/admin_pb.js";
import { file_switchyard_v1_errors } from "../../gen/switchyard/v1/errors_pb.js";
import { file_switchyard_v1_publisher } from "../../gen/switchyard/v1/publisher_pb.js";
import { file_switchyard_v1_replay } from "../../gen/switchyard/v1/replay_pb.js";
import { file_switchyard_v1_subscriber } from "../../gen/switchyard/v1/subscriber_pb.js";
import { createAuthenticator, SERVER_PRINCIPAL } from "../auth/index.js";
import { type Config, validateConfig } from "../config/index.js";
import { type Broker, createBroker, DEFAULT_LIMITS } from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { createPushAgent, type PushAgent } from "../push/index.js";
import {
  createLeanRpc,
  registerBrokerServices,
  registerHealth,
  registerReflection,
  requestBudgetError,
} from "../rpc/index.js";
import { type LmdbStoreOptions, openLmdbStore, type Store, type StoreFailure } from "../store/index.js";
import {
  type Clock,
  childLogger,
  createByteBudget,
  type Logger,
  type PeerByteBudgets,
  sharePerPeer,
  silentLogger,
} from "../util/index.js";
import { createHeaderAuthCheck } from "./auth-interceptor.js";
import type { BridgeListenerContext, RunningBridgeListener } from "./bridge-listeners.js";
import { BRIDGE_LISTENERS } from "./bridges.js";
import { callContextValues } from "./call-context.js";
import { createHttpEndpoints } from "./http-endpoints.js";
import { httpLimits } from "./http-limits.js";
import { createInProcessClientFactory } from "./in-process-clients.js";
import { createServerInterceptors } from "./interceptors.js";
import { formatAddress } from "./listen.js";
import { createServerMetrics } from "./metrics/index.js";
import { createOnePortListener, type NodeHandler, type OnePortListener } from "./one-port-listener.js";
import { createStoreHealth } from "./store-health.js";
import { createSubscriptionTopics } from "./subscription-topics.js";
import { loadTlsSource, type TlsSource } from "./tls-source.js";

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

/** Bound address (`host:port`) of each listener that is on, keyed as in the ready line (`rpc`, `okq`, …). */
export type ListenerAddresses = Record<string, string>;

/** Options of {@link createBrokerServer} beyond the {@link Config}. */
export interface BrokerServerOptions {
  /** Where logs go. Default: silent. */
  logger?: Logger;
  /** Opens the store. Default {@link openLmdbStore}; tests pass a wrapper to observe the store. */
  openStore?: (options: LmdbStoreOptions) => Promise<Store>;
  /** The broker core's clock (publish times, TTLs, leases, waits). Default: the system clock; tests pass a fake one. */
  clock?: Clock;
  /** Time of the failed-login throttle. Default the system clock; tests inject a fake one. */
  authClock?: Clock;
}

/** A Switchyard server: store, broker core and every listener, with an ordered graceful close. */
export interface BrokerServer {
  /** Opens the store, starts the core and binds every listener; resolves with the bound addresses. */
  start(): Promise<ListenerAddresses>;
  /**
   * Graceful shutdown (architecture.md 2.5): stop accepting; abort the shutdown signal (streams
   * end UNAVAILABLE, new requests get 503); wait up to `shutdownGraceMs` for in-flight calls and
   * webhook requests (the push agent gives back what it did not deliver); destroy the remaining
   * connections; close the core, then the store. Idempotent.
   */
  close(): Promise<void>;
  /** Aborted (with BrokerError SHUTTING_DOWN) when shutdown begins. */
  readonly shutdownSignal: AbortSignal;
  /** Open client connections across all listeners (0 after close). */
  connections(): number;
  /** The validated config the server runs with. */
  readonly config: Config;
  /**
   * Resolves when the store fails (a failed fsync or commit, disk full past the floor): writes
   * are refused from then on, health says NOT_SERVING, and the owner should close the server
   * and exit non-zero, so that a supervisor restarts it onto what is really on disk.
   */
  readonly storeFailed: Promise<StoreFailure>;
  /** True when users are configured (every door asks for credentials). */
  readonly authEnabled: boolean;
  /**
   * Re-reads `--tls-cert` and `--tls-key` (on SIGHUP): new connections get the new pair. Throws
   * (keeping the old pair) when the files are missing or do not fit; resolves at once without TLS.
   */
  reloadTls(): Promise<void>;
}

/** True for addresses only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Creates a server from a config (validated again here). Nothing is opened or bound until
 * {@link BrokerServer.start}.
 */
export function createBrokerServer(input: Config, options: BrokerServerOptions = {}): BrokerServer {
  const config = validateConfig(input);
  const logger = options.logger ?? silentLogger;
  const storeHealth = createStoreHealth(logger);
  const openStore = options.openStore ?? openLmdbStore;
  const shutdown = new AbortController();
  // connect links every call's signal to this one (one listener per call in flight), so its
  // listener count is bounded by the calls in flight, not a leak: no MaxListeners warning.
  setMaxListeners(0, shutdown.signal);
  let store: Store | undefined;
  let broker: Broker | undefined;
  let pushAgent: PushAgent | undefined;
  let listener: OnePortListener | undefined;
  const bridges: RunningBridgeListener[] = [];
  let tls: TlsSource | undefined;
  /** The listener key of each entry of `bridges`. */
  const bridgeKeys: string[] = [];
  const metrics = createServerMetrics({
    maxTopicLabels: config.metricsMaxTopics,
    maxSubscriptionLabels: config.metricsMaxSubscriptions,
    dataDir: config.dataDir,
  });
  const auth = createAuthenticator({
    users: config.users,
    logger,
    ...(options.authClock ? { clock: options.authClock } : {}),
  });
  const subscriptionTopics = createSubscriptionTopics(() => broker);
  const interceptors = createServerInterceptors({
    shutdownSignal: shutdown.signal,
    logger,
    metrics: metrics.rpcInterceptor,
    auth,
    subscriptionTopic: subscriptionTopics.topicOf,
  });
  let starting: Promise<ListenerAddresses> | undefined;
  let closing: Promise<void> | undefined;
  let tearingDown: Promise<void> | undefined;

  /** Largest request the RPC port reads: one Publish may carry a whole batch, plus room for the envelope. */
  function readMaxBytes(): number {
    const limits = { ...DEFAULT_LIMITS, maxMessageBytes: config.maxMessageBytes };
    return Math.max(limits.maxBatchBytes, limits.maxMessageBytes) + 1024 * 1024;
  }

  function buildHandler(b: Broker): NodeHandler {
    const routes = (router: ConnectRouter) => {
      registerBrokerServices(router, { broker: b, logger });
      registerHealth(router, {
        shutdownSignal: shutdown.signal,
        services: SERVED_FILES.flatMap(serviceNames),
        notServing: storeHealth.notServing,
        onChange: storeHealth.onChange,
      });
      registerReflection(router, SERVED_FILES);
    };
    return connectNodeAdapter({
      routes,
      // gzip costs ~10x throughput on streams; clients on loopback gain nothing from it.
      acceptCompression: [],
      shutdownSignal: shutdown.signal,
      interceptors,
      // Each call's peer: host:port for the request-scoped log fields, the address for the
      // throttle of failed logins (the lean path gives the same values).
      contextValues: (req) => callContextValues(req.socket),
      readMaxBytes: readMaxBytes(),
      fallback: createHttpEndpoints({
        logger,
        shutdownSignal: shutdown.signal,
        metrics,
        storeHealthz: storeHealth.healthz,
      }),
    });
  }

  /** The RPC port: connect-node for everything, the lean path in front of it unless `--lean-rpc off`. */
  function createRpcListener(b: Broker, tls: TlsSource | undefined): OnePortListener {
    // A single request of the largest size always fits when it is alone; one client (an IPv4
    // address, an IPv6 /64) may hold at most half of the budget, so it cannot keep others busy.
    const total = createByteBudget(Math.max(config.rpcMaxRequestBytesInFlight, readMaxBytes()));
    const requestBudget: PeerByteBudgets = sharePerPeer(
      total,
      Math.max(readMaxBytes(), Math.floor(total.maxBytes / 2)),
    );
    const overBudget = () => requestBudgetError(total, logger);
    // With auth on, a call's credentials are checked before any of its body is read.
    const checkHeaders = createHeaderAuthCheck(auth, logger);
    const lean =
      config.leanRpc === "on"
        ? createLeanRpc({
            broker: b,
            logger,
            interceptors,
            shutdownSignal: shutdown.signal,
            readMaxBytes: readMaxBytes(),
            requestBudget,
            authenticate: (headers, peer) =>
              checkHeaders(headers[":path"] ?? "", stringHeader(headers.authorization), peer.remoteAddress ?? ""),
            // The same per-call values connect-node gets (the peer as it was when the stream was claimed).
            contextValues: (peer) => callContextValues(peer),
          })
        : undefined;
    return createOnePortListener({
      handler: buildHandler(b),
      logger,
      ...(tls ? { tls } : {}),
      ...(lean ? { http2Streams: lean.serve } : {}),
      requestBudget,
      overBudget,
      bodyGate: (req) =>
        checkHeaders(req.url ?? "", stringHeader(req.headers.authorization), req.socket.remoteAddress ?? ""),
      limits: httpLimits(config, config.rpcMaxConnections),
    });
  }

  async function start(): Promise<ListenerAddresses> {
    if (closing !== undefined) throw new BrokerError("SHUTTING_DOWN", "the server is closed");
    try {
      if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
        tls = await loadTlsSource(config.tlsCert, config.tlsKey);
      }
      store = await openStore({
        path: config.dataDir,
        durability: config.durability,
        commitObserver: metrics.storeCommit,
        minFreeDisk: config.minFreeDisk,
        maxStoreBytes: config.maxStoreBytes,
        onCondition: storeHealth.report,
        onDiskProbeError: (error) =>
          logger.warn("measuring free disk space failed; the last measurement stands, retrying every second", {
            error,
          }),
      });
      const limits = { maxMessageBytes: config.maxMessageBytes, pushAllowedHosts: config.pushAllowedHosts };
      broker = createBroker({
        store,
        logger,
        limits,
        metrics: metrics.core,
        ...(options.clock ? { clock: options.clock } : {}),
      });
      pushAgent = createPushAgent({ broker, limits, logger });
      await pushAgent.start();
      listener = createRpcListener(broker, tls);
      const rpc = await listener.listen(
        { name: "rpc", host: config.host, port: config.port, flag: "--port" },
        shutdown.signal,
      );
      const addresses: ListenerAddresses = { rpc: formatAddress(rpc) };
      logger.info("rpc listener up (Connect, gRPC, gRPC-web, /metrics, /healthz)", {
        address: addresses.rpc,
        tls: tls ? "on" : "off",
      });
      logAuth();
      const clientsAs = createInProcessClientFactory(broker, logger, interceptors);
      const context: BridgeListenerContext = {
        clients: clientsAs(SERVER_PRINCIPAL),
        clientsAs,
        auth,
        tls,
        config,
        logger,
        metrics: metrics.bridges,
        serverMetrics: metrics,
        shutdownSignal: shutdown.signal,
      };
      for (const definition of BRIDGE_LISTENERS) {
        const port = definition.port(config);
        if (port === "off") continue;
        // Each bridge logs with its name on every line (request-scoped fields: bridge, client, …).
        const bridge = definition.create({ ...context, logger: childLogger(logger, { bridge: definition.key }) });
        bridges.push(bridge);
        bridgeKeys.push(definition.key);
        const spec = { name: definition.key, host: config.host, port, flag: definition.flag };
        const bound = await bridge.listen(spec, shutdown.signal);
        addresses[definition.key] = formatAddress(bound);
        logger.info(`${definition.key} listener up (${definition.serves})`, {
          address: addresses[definition.key],
          tls: tls ? "on" : "off",
        });
      }
      const b = broker;
      const listeners = bridgeKeys;
      await metrics.attach({
        stats: () => b.getStats([]),
        connections: () => {
          const out: Record<string, number> = { rpc: listener?.connections() ?? 0 };
          bridges.forEach((bridge, i) => {
            out[listeners[i] as string] = bridge.connections();
          });
          return out;
        },
      });
      return addresses;
    } catch (e) {
      await teardown().catch(() => {});
      throw e;
    }
  }

  function logAuth(): void {
    if (auth.enabled) {
      logger.info("auth on: every door asks for credentials", { users: config.users?.length ?? 0 });
    } else if (isLoopback(config.host)) {
      logger.info("auth off: no users are configured (define users in the config file to turn it on)");
    } else {
      logger.warn(
        `auth off, and --host ${config.host} is not a loopback address: anyone who reaches these ports can publish, read and delete. Define users in the config file.`,
      );
    }
  }

  /** The ordered close; runs once. Never waits for start (start's failure path calls it). */
  function teardown(): Promise<void> {
    tearingDown ??= (async () => {
      listener?.stopAccepting();
      for (const bridge of bridges) bridge.stopAccepting();
      shutdown.abort(new BrokerError("SHUTTING_DOWN", "the server is shutting down"));
      const errors: unknown[] = [];
      // Webhook requests in flight get the same grace as RPC calls; their leases go back before the core closes.
      const pushClosed = pushAgent?.close(config.shutdownGraceMs).catch((e: unknown) => errors.push(e));
      const bridgesClosed = Promise.allSettled(bridges.map((b) => b.close(config.shutdownGraceMs))).then((results) => {
        for (const r of results) if (r.status === "rejected") errors.push(r.reason);
      });
      if (listener) {
        const drained = await listener.drain(config.shutdownGraceMs);
        if (!drained) logger.warn("grace period over; closing connections", { inFlight: listener.inFlight() });
      }
      // Bridges call the core in-process: they finish before the RPC connections go.
      await bridgesClosed;
      await listener?.destroy();
      await pushClosed;
      await broker?.close().catch((e: unknown) => errors.push(e));
      await store?.close().catch((e: unknown) => errors.push(e));
      for (const e of errors) logger.error("error while closing", { error: e });
      if (errors.length > 0) throw errors[0];
    })();
    return tearingDown;
  }

  function close(): Promise<void> {
    closing ??= (async () => {
      await starting?.catch(() => {});
      logger.info("shutting down");
      await teardown();
      logger.info("shut down");
    })();
    return closing;
  }

  return {
    start() {
      starting ??= start();
      return starting;
    },
    close,
    shutdownSignal: shutdown.signal,
    connections: () => bridges.reduce((n, b) => n + b.connections(), listener?.connections() ?? 0),
    config,
    storeFailed: storeHealth.failed,
    authEnabled: auth.enabled,
    async reloadTls() {
      if (!tls) return;
      await tls.reload();
      logger.info("tls certificate reloaded", { cert: tls.files.cert });
    },
  };
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function serviceNames(file: DescFile): string[] {
  return file.services.map((s) => s.typeName);
}
