import { statSync } from "node:fs";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { BridgeMetrics } from "../../bridges/bridge.js";
import type { BrokerMetricsSink, Stats } from "../../core/index.js";
import { createBridgeMetrics } from "./bridge-metrics.js";
import { createCoreMetrics } from "./core-metrics.js";
import { createLabelBudget } from "./label-budget.js";
import { createRpcMetricsInterceptor } from "./rpc-metrics.js";
import { registerStatsMetrics } from "./stats-metrics.js";
import { createStreamResetCounter } from "./stream-reset-metrics.js";

/** Options of {@link createServerMetrics}. */
export interface ServerMetricsOptions {
  /** Topics with a label of their own; later ones fold into an empty label (label-budget.ts). */
  maxTopicLabels: number;
  /** Subscriptions with a label of their own per scrape; the rest fold into an empty label (label-budget.ts). */
  maxSubscriptionLabels: number;
  /** The store's directory (for `switchyard_store_size_bytes`). */
  dataDir: string;
}

/** What the scrape-time series read from the running server. */
export interface MetricsSources {
  /** GetStats over every topic. */
  stats(): Promise<Stats>;
  /** Open connections per listener key (`rpc`, `okq`, …). */
  connections(): Record<string, number>;
}

/** Every metric of one server instance, in one prom-client registry (README "Metrics"). */
export interface ServerMetrics {
  /** The server's registry: broker series plus the process and event-loop series. */
  readonly registry: Registry;
  /** A registry for one side endpoint's own series (GopherMQ's), created on first use. */
  side(name: string): Registry;
  /** The core's counters (publishes, deliveries, acks, nacks, bytes). */
  readonly core: BrokerMetricsSink;
  /** The bridges' connection and command counters. */
  readonly bridges: BridgeMetrics;
  /** The RPC latency interceptor (one of the server interceptors). */
  readonly rpcInterceptor: Interceptor;
  /**
   * Counts one HTTP/2 stream of the RPC port that the client reset, or lost with its connection,
   * before its response ended (`code`: the stream's HTTP/2 error code).
   */
  rpcStreamReset(code: number): void;
  /** Observes one store write: `seconds` from the write's start to its commit (and sync, when it syncs). */
  storeCommit(seconds: number): void;
  /** Connects the scrape-time series to the running server. */
  attach(sources: MetricsSources): Promise<void>;
  /** Prometheus text of the registry and `extra` registries. */
  render(extra?: readonly Registry[]): Promise<string>;
  /** Content type of {@link render}'s text. */
  readonly contentType: string;
}

/** Creates the metrics of one server: one registry per instance, never prom-client's global one. */
export function createServerMetrics(options: ServerMetricsOptions): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const topics = createLabelBudget(options.maxTopicLabels);
  const sides = new Map<string, Registry>();
  let sources: MetricsSources | undefined;
  registerStatsMetrics(registry, {
    stats: () => sources?.stats() ?? Promise.resolve({ topics: [], subscriptions: [] }),
    topics,
    maxSubscriptions: options.maxSubscriptionLabels,
  });
  const commit = new Histogram({
    name: "switchyard_store_commit_duration_seconds",
    help: "Time from a store write's start to its commit (and sync to disk, when it syncs), including any wait for a shared commit.",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: "switchyard_store_size_bytes",
    help: "Size of the store's data file in bytes.",
    registers: [registry],
    collect() {
      let size = 0;
      try {
        size = statSync(join(options.dataDir, "data.mdb")).size;
      } catch {
        // No file (yet): 0.
      }
      this.set(size);
    },
  });
  new Gauge({
    name: "switchyard_listener_connections",
    help: "Open client connections per listener.",
    labelNames: ["listener"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [listener, n] of Object.entries(sources?.connections() ?? {})) this.set({ listener }, n);
    },
  });
  return {
    registry,
    side(name) {
      let r = sides.get(name);
      if (!r) {
        r = new Registry();
        sides.set(name, r);
      }
      return r;
    },
    core: createCoreMetrics(registry, topics),
    bridges: createBridgeMetrics(registry),
    rpcInterceptor: createRpcMetricsInterceptor(registry),
    rpcStreamReset: createStreamResetCounter(registry),
    storeCommit: (seconds) => commit.observe(seconds),
    async attach(s) {
      sources = s;
    },
    render: (extra = []) => (extra.length === 0 ? registry.metrics() : Registry.merge([registry, ...extra]).metrics()),
    contentType: registry.contentType,
  };
}
