import { type Logger, linkSignals } from "../../util/index.js";
import type { BridgeMetrics, BrokerClients } from "../bridge.js";
import { createEndpoints, type GopherMethod } from "./endpoints.js";
import { type GopherRequest, type GopherResponse, routePath, sendJson, sendMessage, sendNoContent } from "./http-io.js";
import { type GophermqMetrics, noGophermqMetrics } from "./metrics.js";
import { createSubjectPublisher } from "./publisher.js";

/** Name of the bridge in logs and `switchyard_bridge_*` series. */
const BRIDGE = "gophermq";

/** What the GopherMQ bridge needs from the server. */
export interface GophermqBridgeDeps {
  clients: BrokerClients;
  logger: Logger;
  /** Bridge command counters (`switchyard_bridge_*`). */
  metrics: BridgeMetrics;
  /** GopherMQ's own request series. Default: none. */
  gophermqMetrics?: GophermqMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
}

/** Options of {@link createGophermqBridge}; every one has a default. */
export interface GophermqOptions {
  /** GopherMQ's `broker.max-pending`: publishes fail with 429 while a subject's pending count is above it. Default 10. */
  maxPending?: number;
  /** How long a subscriber may go without a fetch before its subscription is deleted. Default 1 hour. */
  idleExpiryMs?: number;
  /** Largest message data in bytes. Default 1 MiB (the broker's default). */
  maxMessageBytes?: number;
  /** Most messages one fetch returns. Default 1000. */
  fetchMaxMessages?: number;
  /** About the most data bytes one fetch returns (at least one message). Default 16 MiB. */
  fetchMaxBytes?: number;
  /** Async publishes accepted but not yet stored; beyond it `/api/publish/async` waits. Default 1024. */
  maxAsyncInFlight?: number;
  /** How long `/api/publish/async` waits for room before answering 503. Default 10 s. */
  asyncWaitMs?: number;
}

/** The bridge: an HTTP request handler plus its lifecycle. */
export interface GophermqBridge {
  /** Serves one HTTP/1.1 or h2c request. Never throws. */
  handle(req: GopherRequest, res: GopherResponse): void;
  /** Publishes still being stored (sync and async). */
  inFlight(): number;
  /** Waits up to `graceMs` for publishes in flight; logs async ones that could not finish. */
  close(graceMs: number): Promise<void>;
}

/** Subscriptions the bridge creates are named this plus the subscriber's id. */
export const SUBSCRIPTION_PREFIX = "gophermq-";

/** Echo's routes in GopherMQ: path → method. */
const ROUTES = new Map<string, { method: string; name: GopherMethod | "publish-async" | "ready" }>([
  ["/ready", { method: "GET", name: "ready" }],
  ["/api/publish", { method: "POST", name: "publish" }],
  ["/api/publish/async", { method: "POST", name: "publish-async" }],
  ["/api/subscribe", { method: "POST", name: "subscribe" }],
  ["/api/fetch", { method: "POST", name: "fetch" }],
]);

/** A counting semaphore with a bounded wait. */
function createSlots(size: number, waitMs: number) {
  let used = 0;
  const waiters: Array<() => void> = [];
  const release = () => {
    const next = waiters.shift();
    if (next) next();
    else used--;
  };
  return async (signal: AbortSignal): Promise<(() => void) | undefined> => {
    if (used < size) {
      used++;
      return release;
    }
    return new Promise((resolve) => {
      const granted = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", giveUp);
        resolve(release);
      };
      const giveUp = () => {
        clearTimeout(timer);
        const i = waiters.indexOf(granted);
        if (i >= 0) waiters.splice(i, 1);
        signal.removeEventListener("abort", giveUp);
        resolve(undefined);
      };
      const timer = setTimeout(giveUp, waitMs);
      waiters.push(granted);
      signal.addEventListener("abort", giveUp, { once: true });
    });
  };
}

/**
 * The GopherMQ bridge (docs/gophermq.md): GopherMQ's HTTP API, byte for byte, on the broker's
 * Protobuf services. A subject is a topic; each subscribe creates an ephemeral subscription
 * starting at the latest message; publish stores durably (in rounds per subject that keep
 * GopherMQ's overflow arithmetic); fetch drains the subscriber with auto-acked pulls.
 */
export function createGophermqBridge(deps: GophermqBridgeDeps, options: GophermqOptions = {}): GophermqBridge {
  const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
  const gophermqMetrics = deps.gophermqMetrics ?? noGophermqMetrics;
  const publisher = createSubjectPublisher({ maxPending: options.maxPending ?? 10, maxMessageBytes }, deps.logger);
  const endpoints = createEndpoints({
    // One place per request: with auth, this hands out the principal's clients.
    clientsFor: () => deps.clients,
    publisher,
    logger: deps.logger,
    subscriptionPrefix: SUBSCRIPTION_PREFIX,
    idleExpiryMs: options.idleExpiryMs ?? 3_600_000,
    // A JSON string may escape each byte as \u00XX; leave room for the envelope too.
    maxBodyBytes: maxMessageBytes * 6 + 64 * 1024,
    fetchMaxMessages: options.fetchMaxMessages ?? 1000,
    fetchMaxBytes: options.fetchMaxBytes ?? 16 * 1024 * 1024,
    maxMessageBytes,
    asyncSlot: createSlots(options.maxAsyncInFlight ?? 1024, options.asyncWaitMs ?? 10_000),
  });

  async function serve(req: GopherRequest, res: GopherResponse, signal: AbortSignal): Promise<void> {
    const route = ROUTES.get(routePath(req.url ?? "/"));
    if (!route) {
      deps.metrics.command(BRIDGE, "unknown");
      sendMessage(req, res, 404, "Not Found");
      return;
    }
    deps.metrics.command(BRIDGE, route.name);
    if (req.method !== route.method) {
      const allow = { allow: `OPTIONS, ${route.method}` };
      if (req.method === "OPTIONS") sendNoContent(res, 204, allow);
      else sendJson(req, res, 405, { message: "Method Not Allowed" }, allow);
      return;
    }
    if (route.name === "ready") {
      sendNoContent(res, 204);
      return;
    }
    if (route.name === "publish-async") {
      const status = await endpoints.publishAsync(req, res, signal);
      if (status >= 400) deps.metrics.error(BRIDGE, route.name);
      return;
    }
    const started = performance.now();
    const status = await endpoints[route.name](req, res);
    gophermqMetrics.request(route.name, status, (performance.now() - started) / 1000);
    if (status >= 400) deps.metrics.error(BRIDGE, route.name);
  }

  return {
    handle(req, res) {
      const closed = new AbortController();
      res.once("close", () => closed.abort());
      const link = linkSignals(closed.signal, deps.shutdownSignal);
      serve(req, res, link.signal)
        .catch((e: unknown) => {
          // A client that went away mid-body, or a bug: never an unhandled rejection.
          if (!res.headersSent && !closed.signal.aborted) {
            deps.logger.error("gophermq: request failed", { error: e });
            sendMessage(req, res, 500, "server error");
          } else res.destroy?.();
        })
        .finally(() => link.dispose());
    },
    inFlight: () => publisher.inFlight(),
    async close(graceMs) {
      const deadline = Date.now() + graceMs;
      while (publisher.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const left = publisher.inFlight();
      if (left > 0) deps.logger.warn("gophermq: publishes still in flight at shutdown", { count: left });
    },
  };
}
