import type { Logger } from "../util/index.js";
import type { ServerMetrics } from "./metrics/index.js";
import type { NodeHandler } from "./one-port-listener.js";
import type { HealthzAnswer } from "./store-health.js";

/** Options of {@link createHttpEndpoints}. */
export interface HttpEndpointsOptions {
  logger: Logger;
  /** Aborted when shutdown begins: `/healthz` then answers 503. */
  shutdownSignal: AbortSignal;
  /** The server's metrics, rendered on `/metrics`. */
  metrics: ServerMetrics;
  /** The store's answer for `/healthz` when it is not fine (failed: 503; low on disk space: 200 and why). */
  storeHealthz?: () => HealthzAnswer | undefined;
}

const TEXT = "text/plain; charset=utf-8";

/**
 * The plain HTTP endpoints of the RPC port, served as connect's `fallback` for paths that are
 * no RPC: `GET /healthz` (200 `ok`, 503 while shutting down or when the store failed, 200 with
 * the reason while disk space is below the floor), `GET /metrics` (Prometheus text),
 * 404 otherwise. HEAD works wherever GET does; other methods get 405.
 */
export function createHttpEndpoints(options: HttpEndpointsOptions): NodeHandler {
  const { logger, shutdownSignal, metrics, storeHealthz } = options;
  const send = (res: Parameters<NodeHandler>[1], status: number, body: string, type = TEXT, headers = {}) => {
    res.writeHead(status, { "content-type": type, "cache-control": "no-store", ...headers });
    res.end(body);
  };
  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0];
    if (path !== "/healthz" && path !== "/metrics") return send(res, 404, "not found\n");
    if (req.method !== "GET" && req.method !== "HEAD")
      return send(res, 405, "method not allowed\n", TEXT, { allow: "GET, HEAD" });
    if (path === "/healthz") {
      const store = storeHealthz?.();
      if (store?.status === 503) return send(res, 503, store.body);
      if (shutdownSignal.aborted) return send(res, 503, "shutting down\n");
      return store ? send(res, store.status, store.body) : send(res, 200, "ok\n");
    }
    metrics.render().then(
      (body) => send(res, 200, body, metrics.contentType),
      (e: unknown) => {
        logger.error("metrics: rendering failed", { error: e });
        if (!res.headersSent) send(res, shutdownSignal.aborted ? 503 : 500, "stats unavailable\n");
        else res.end();
      },
    );
  };
}
