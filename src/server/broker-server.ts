/**
 * The Switchyard server (README "Running", "Architecture"): opens the store, starts the broker
 * core and the push agent, binds the RPC port (rpc-port.ts) and the bridge listeners
 * (running-bridges.ts), and closes them all in order on shutdown.
 *
 * @module
 */
import { setMaxListeners } from "node:events";
import { createAuthenticator, SERVER_PRINCIPAL } from "../auth/index.js";
import { type Config, validateConfig } from "../config/index.js";
import { type Broker, createBroker } from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import { createPushAgent, type PushAgent } from "../push/index.js";
import { type LmdbStoreOptions, openLmdbStore, type Store, type StoreFailure } from "../store/index.js";
import { type Clock, type Logger, silentLogger } from "../util/index.js";
import { logAuthMode } from "./auth-startup-log.js";
import type { BridgeListenerContext } from "./bridge-listeners.js";
import { createInProcessClientFactory } from "./in-process-clients.js";
import { createServerInterceptors } from "./interceptors.js";
import { formatAddress } from "./listen.js";
import { createServerMetrics } from "./metrics/index.js";
import type { OnePortListener } from "./one-port-listener.js";
import { createRpcListener } from "./rpc-port.js";
import { createRunningBridges } from "./running-bridges.js";
import { createStoreHealth } from "./store-health.js";
import { createSubscriptionTopics } from "./subscription-topics.js";
import { loadTlsSource, type TlsSource } from "./tls-source.js";

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
   * Graceful shutdown (README "Running"): stop accepting; abort the shutdown signal (streams
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
  const bridges = createRunningBridges(logger);
  let tls: TlsSource | undefined;
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

  async function start(): Promise<ListenerAddresses> {
    if (closing !== undefined) throw new BrokerError("SHUTTING_DOWN", "the server is closed");
    try {
      if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
        tls = await loadTlsSource(config.tlsCert, config.tlsKey);
      }
      store = await openStore({
        path: config.dataDir,
        durability: config.durability,
        ackCommitDelayMs: config.ackCommitDelayMs,
        commitDelayMs: config.commitDelayMs,
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
      listener = createRpcListener({
        broker,
        config,
        logger,
        interceptors,
        shutdownSignal: shutdown.signal,
        auth,
        storeHealth,
        metrics,
        tls,
      });
      const rpc = await listener.listen(
        { name: "rpc", host: config.host, port: config.port, flag: "--port" },
        shutdown.signal,
      );
      const addresses: ListenerAddresses = { rpc: formatAddress(rpc) };
      logger.info("rpc listener up (Connect, gRPC, gRPC-web, /metrics, /healthz)", {
        address: addresses.rpc,
        tls: tls ? "on" : "off",
      });
      logAuthMode(logger, config, auth.enabled);
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
      Object.assign(addresses, await bridges.start(context, shutdown.signal));
      const b = broker;
      await metrics.attach({
        stats: () => b.getStats([]),
        connections: () => ({ rpc: listener?.connections() ?? 0, ...bridges.connectionsByKey() }),
      });
      return addresses;
    } catch (e) {
      await teardown().catch(() => {});
      throw e;
    }
  }

  /** The ordered close; runs once. Never waits for start (start's failure path calls it). */
  function teardown(): Promise<void> {
    tearingDown ??= (async () => {
      listener?.stopAccepting();
      bridges.stopAccepting();
      shutdown.abort(new BrokerError("SHUTTING_DOWN", "the server is shutting down"));
      const errors: unknown[] = [];
      // Webhook requests in flight get the same grace as RPC calls; their leases go back before the core closes.
      const pushClosed = pushAgent?.close(config.shutdownGraceMs).catch((e: unknown) => errors.push(e));
      const bridgesClosed = bridges.close(config.shutdownGraceMs, (e) => errors.push(e));
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
    connections: () => (listener?.connections() ?? 0) + bridges.connections(),
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
