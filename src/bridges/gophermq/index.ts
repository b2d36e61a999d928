import { type Clock, type Logger, linkSignals, systemClock } from "../../util/index.js";
import {
  type BridgeMetrics,
  type BrokerClients,
  type HttpBridgeAuth,
  httpRequestClients,
  metadataOfAny,
  reasonOfAny,
} from "../bridge.js";
import { createAsyncSlots } from "./async-slots.js";
import { createEndpoints, type GopherMethod } from "./endpoints.js";
import { createFetchSettler } from "./fetch-settle.js";
import {
  type GopherRequest,
  type GopherResponse,
  routePath,
  sendJson,
  sendMessage,
  sendNoContent,
  sendUnauthorized,
} from "./http-io.js";
import { type GophermqMetrics, noGophermqMetrics } from "./metrics.js";
import { createPublishPermissions } from "./permissions.js";
import { createSubjectPublisher } from "./publisher.js";
import { createSubscriberRegistry } from "./subscribers.js";
import { createTopicCleanup } from "./topic-cleanup.js";

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
  /** Time for subscriber expiry and topic cleanup. Default: the system clock. */
  clock?: Clock;
  /**
   * The broker's users; absent or not enabled: auth is off and every request uses `clients`. On:
   * each API request acts as the user of its HTTP Basic (or bearer) `Authorization` header.
   */
  auth?: HttpBridgeAuth;
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
  /**
   * How long a fetch's answer may take to reach the client (its last byte handed to the OS)
   * before the connection is dropped and the messages given back. Default 30 s; the fetch's
   * leases last twice as long, so they never end while the answer is still being written.
   */
  fetchWriteTimeoutMs?: number;
  /** Async publishes accepted but not yet stored; beyond it `/api/publish/async` waits. Default 1024. */
  maxAsyncInFlight?: number;
  /** How long `/api/publish/async` waits for room before answering 503. Default 10 s. */
  asyncWaitMs?: number;
  /** Async publishes waiting for room at once; more get 503 at once. Default 1024. */
  maxAsyncWaiters?: number;
  /** Live subscribers at once (subscriptions made by the bridge); more get 429. Default 10,000. */
  maxSubscribers?: number;
  /** Publishes (sync and async) waiting or being stored, over all subjects; more get 503. Default 10,000. */
  maxQueuedPublishes?: number;
  /** Their data bytes; more get 503 (one publish always fits). Default 64 MiB. */
  maxQueuedPublishBytes?: number;
  /** Time between rounds deleting unused topics the bridge made. Default: a quarter of the idle expiry, 1 s to 60 s. */
  topicCleanupIntervalMs?: number;
}

/** The bridge: an HTTP request handler plus its lifecycle. */
export interface GophermqBridge {
  /** Serves one HTTP/1.1 or h2c request. Never throws. */
  handle(req: GopherRequest, res: GopherResponse): void;
  /** Publishes still being stored (sync and async), plus fetch acks and releases not yet done. */
  inFlight(): number;
  /**
   * Waits up to `graceMs` for publishes in flight and for the acks and releases of fetches whose
   * connections have closed; logs async publishes that could not finish.
   */
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

/**
 * The GopherMQ bridge (docs/gophermq.md): GopherMQ's HTTP API, byte for byte, on the broker's
 * Protobuf services. A subject is a topic; each subscribe creates an ephemeral subscription
 * starting at the latest message; publish stores durably (in rounds per subject that keep
 * GopherMQ's overflow arithmetic); fetch leases what the subscriber has and acks it once the
 * answer is out (given back if the client goes away first).
 */
export function createGophermqBridge(deps: GophermqBridgeDeps, options: GophermqOptions = {}): GophermqBridge {
  const maxMessageBytes = options.maxMessageBytes ?? 1024 * 1024;
  const gophermqMetrics = deps.gophermqMetrics ?? noGophermqMetrics;
  const clock = deps.clock ?? systemClock;
  const idleExpiryMs = options.idleExpiryMs ?? 3_600_000;
  const publisher = createSubjectPublisher(
    {
      maxPending: options.maxPending ?? 10,
      maxMessageBytes,
      ...(options.maxQueuedPublishes !== undefined ? { maxQueuedMessages: options.maxQueuedPublishes } : {}),
      ...(options.maxQueuedPublishBytes !== undefined ? { maxQueuedBytes: options.maxQueuedPublishBytes } : {}),
    },
    deps.logger,
  );
  const registry = createSubscriberRegistry({ maxSubscribers: options.maxSubscribers ?? 10_000, idleExpiryMs, clock });
  const cleanup = createTopicCleanup({
    registry,
    clients: () => deps.clients,
    logger: deps.logger,
    clock,
    intervalMs: options.topicCleanupIntervalMs ?? Math.min(60_000, Math.max(1000, Math.floor(idleExpiryMs / 4))),
    shutdownSignal: deps.shutdownSignal,
  });
  const fetchWriteTimeoutMs = options.fetchWriteTimeoutMs ?? 60_000;
  const settler = createFetchSettler({ logger: deps.logger, writeTimeoutMs: fetchWriteTimeoutMs });
  /** Each API request's clients, set once its credentials are checked (see `serve`). */
  const requestClients = new WeakMap<GopherRequest, BrokerClients>();
  const challenge = deps.auth?.authenticator.wwwAuthenticate ?? 'Basic realm="switchyard", charset="UTF-8"';
  const endpoints = createEndpoints({
    // The one place a request gets its clients: its user's, or the bridge's own while auth is off.
    clientsFor: (req) => requestClients.get(req) ?? deps.clients,
    bridgeClients: deps.clients,
    publishPermissions: createPublishPermissions(deps.clients),
    challenge,
    publisher,
    logger: deps.logger,
    subscriptionPrefix: SUBSCRIPTION_PREFIX,
    idleExpiryMs,
    // A JSON string may escape each byte as \u00XX; leave room for the envelope too.
    maxBodyBytes: maxMessageBytes * 6 + 64 * 1024,
    fetchMaxMessages: options.fetchMaxMessages ?? 1000,
    fetchMaxBytes: options.fetchMaxBytes ?? 16 * 1024 * 1024,
    maxMessageBytes,
    fetchLeaseMs: 2 * fetchWriteTimeoutMs,
    settler,
    asyncSlot: createAsyncSlots(
      options.maxAsyncInFlight ?? 1024,
      options.asyncWaitMs ?? 10_000,
      options.maxAsyncWaiters ?? 1024,
    ),
    registry,
    cleanup,
  });

  /** `signal`: the client went away or the server shuts down; `gone`: the client went away. */
  async function serve(req: GopherRequest, res: GopherResponse, signal: AbortSignal, gone: AbortSignal): Promise<void> {
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
    const started = performance.now();
    // As Echo's BasicAuth middleware: credentials before anything is read (the body stays unread).
    const authenticated = await authenticate(req, res);
    if (route.name === "publish-async") {
      const status = authenticated ? await endpoints.publishAsync(req, res, signal) : 401;
      if (status >= 400) deps.metrics.error(BRIDGE, route.name);
      return;
    }
    const status = authenticated ? await endpoints[route.name](req, res, gone) : 401;
    gophermqMetrics.request(route.name, status, (performance.now() - started) / 1000);
    if (status >= 400) deps.metrics.error(BRIDGE, route.name);
  }

  /** Checks the request's credentials and records its clients; false once it answered 401 itself. */
  async function authenticate(req: GopherRequest, res: GopherResponse): Promise<boolean> {
    try {
      const peer = req.socket?.remoteAddress ?? "";
      requestClients.set(req, await httpRequestClients(deps.auth, deps.clients, req.headers.authorization, peer));
      return true;
    } catch (e) {
      if (reasonOfAny(e) !== "UNAUTHENTICATED") throw e;
      sendUnauthorized(req, res, challenge, Number(metadataOfAny(e).retry_after_ms), true);
      return false;
    }
  }

  return {
    handle(req, res) {
      const closed = new AbortController();
      res.once("close", () => closed.abort());
      const link = linkSignals(closed.signal, deps.shutdownSignal);
      serve(req, res, link.signal, closed.signal)
        .catch((e: unknown) => {
          // A client that went away mid-body, or a bug: never an unhandled rejection.
          if (!res.headersSent && !closed.signal.aborted) {
            deps.logger.error("gophermq: request failed", { error: e });
            sendMessage(req, res, 500, "server error");
          } else res.destroy?.();
        })
        .finally(() => link.dispose());
    },
    inFlight: () => publisher.inFlight() + settler.pending(),
    async close(graceMs) {
      const deadline = Date.now() + graceMs;
      await cleanup.stop();
      while (publisher.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      // Responses cut off by the listener's close give their messages back; wait for that too.
      await new Promise((r) => setImmediate(r));
      await settler.idle(Math.max(0, deadline - Date.now()));
      const left = publisher.inFlight();
      if (left > 0) deps.logger.warn("gophermq: publishes still in flight at shutdown", { count: left });
    },
  };
}
