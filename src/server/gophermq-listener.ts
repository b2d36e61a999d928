import type { IncomingMessage, ServerResponse } from "node:http";
import { createGophermqBridge } from "../bridges/gophermq/index.js";
import { createGophermqMetrics } from "../bridges/gophermq/metrics.js";
import type { BridgeListenerDefinition, RunningBridgeListener } from "./bridge-listeners.js";
import { httpLimits } from "./http-limits.js";
import { createOnePortListener, type NodeHandler, type OnePortListener } from "./one-port-listener.js";

/** Connections the metrics port keeps at once: scrapers need a few (no flag). */
const METRICS_MAX_CONNECTIONS = 64;

/** Side registry holding GopherMQ's own series, served on the gophermq-metrics port. */
const GOPHERMQ_REGISTRY = "gophermq";

/** Time the bridge gets after the connections are gone, even when draining used up the grace period. */
const MIN_AFTER_DESTROY_MS = 1000;

/**
 * A listener around a one-port HTTP listener. `afterDestroy` runs once every connection is gone,
 * with what is left of the grace period (at least {@link MIN_AFTER_DESTROY_MS}): responses cut
 * off there still give their fetched messages back before the core closes.
 */
function httpListener(listener: OnePortListener, afterDestroy?: (graceMs: number) => Promise<void>) {
  const running: RunningBridgeListener = {
    listen: (spec, signal) => listener.listen(spec, signal),
    stopAccepting: () => listener.stopAccepting(),
    async close(graceMs) {
      const deadline = Date.now() + graceMs;
      await listener.drain(graceMs);
      await listener.destroy();
      await afterDestroy?.(Math.max(MIN_AFTER_DESTROY_MS, deadline - Date.now()));
    },
    connections: () => listener.connections(),
  };
  return running;
}

/** The GopherMQ bridge (HTTP JSON) on `--gophermq-port`. */
export const gophermqListener: BridgeListenerDefinition = {
  key: "gophermq",
  flag: "--gophermq-port",
  serves: "GopherMQ HTTP API",
  port: (config) => config.gophermqPort,
  create({ auth, clients, clientsAs, config, logger, metrics, serverMetrics, shutdownSignal, tls }) {
    const bridge = createGophermqBridge(
      {
        clients,
        // API requests act as their HTTP Basic (or bearer) user when the broker has users.
        auth: { authenticator: auth, clientsAs },
        logger,
        metrics,
        gophermqMetrics: createGophermqMetrics(serverMetrics.side(GOPHERMQ_REGISTRY)),
        shutdownSignal,
      },
      {
        maxPending: config.gophermqMaxPending,
        idleExpiryMs: config.gophermqIdleExpiryMs,
        maxSubscribers: config.gophermqMaxSubscribers,
        maxMessageBytes: config.maxMessageBytes,
      },
    );
    const listener = createOnePortListener({
      handler: bridge.handle as unknown as NodeHandler,
      logger,
      limits: httpLimits(config, config.gophermqMaxConnections),
      ...(tls ? { tls } : {}),
    });
    return httpListener(listener, (graceMs) => bridge.close(graceMs));
  },
};

/**
 * GopherMQ's metrics endpoint on `--gophermq-metrics-port`: `/metrics` (any method, as Go's
 * promhttp handler) serves the server's series plus GopherMQ's two, so GopherMQ dashboards keep
 * working; any other path is Go's `404 page not found`.
 */
export const gophermqMetricsListener: BridgeListenerDefinition = {
  key: "gophermq-metrics",
  flag: "--gophermq-metrics-port",
  serves: "Prometheus /metrics with GopherMQ's series",
  port: (config) => config.gophermqMetricsPort,
  create({ config, logger, serverMetrics, tls }) {
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      const path = (req.url ?? "/").split("?", 1)[0];
      if (path !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" });
        res.end("404 page not found\n");
        return;
      }
      serverMetrics.render([serverMetrics.side(GOPHERMQ_REGISTRY)]).then(
        (body) => {
          res.writeHead(200, { "content-type": serverMetrics.contentType });
          res.end(req.method === "HEAD" ? undefined : body);
        },
        (e: unknown) => {
          logger.error("gophermq-metrics: rendering failed", { error: e });
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
          res.end("An error has occurred while serving metrics.\n");
        },
      );
    };
    return httpListener(
      createOnePortListener({
        handler: handle as unknown as NodeHandler,
        logger,
        limits: httpLimits(config, METRICS_MAX_CONNECTIONS),
        ...(tls ? { tls } : {}),
      }),
    );
  },
};
