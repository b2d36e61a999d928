import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../util/index.js";
import {
  type BridgeMetrics,
  type BrokerClients,
  checkMayPublish,
  type HttpBridgeAuth,
  httpRequestClients,
  reasonOf,
} from "../bridge.js";
import { type BodyBudget, createBodyBudget, type Form, FormError, parseForm, readBody } from "./form.js";
import { pushMessage } from "./push.js";
import { replay, replayRequest } from "./replay.js";
import {
  sendBadRequest,
  sendBrokerError,
  sendMethodNotAllowed,
  sendNotFound,
  sendShuttingDown,
  sendSuccess,
  sendText,
} from "./respond.js";
import { createOpqTopics, OPQ_ORDERING_KEY, type OpqDeliveryOptions, TopicConflictError } from "./topics.js";

/** Key of the bridge in the ready line, logs and metrics. */
const BRIDGE = "opq";

/**
 * The query string of a request target as Go's server reads it (`URL.RawQuery`): everything
 * after the first `?`, further `?` and a `#` included (a request target has no fragment).
 */
export function rawQuery(target: string): string {
  const q = target.indexOf("?");
  return q < 0 ? "" : target.slice(q + 1);
}

/** What the OPQ bridge needs from the server. */
export interface OpqBridgeDeps {
  clients: BrokerClients;
  logger: Logger;
  metrics: BridgeMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
  /**
   * The broker's users; absent or not enabled: auth is off and every request uses `clients`.
   * On: each request acts as the user of its HTTP Basic (or bearer) `Authorization` header.
   */
  auth?: HttpBridgeAuth;
}

/** Options of {@link createOpqBridge}. */
export interface OpqOptions extends OpqDeliveryOptions {
  /** Most attributes one message may have (the broker's limit; fields plus headers). */
  maxAttributes: number;
  /** True when a target URL's host may be used (`--push-allowed-hosts`). */
  urlAllowed: (url: URL) => boolean;
  /**
   * Bytes of request bodies held in memory at once, across requests, from when they are read until
   * their Publish (or replay) has finished. Default 256 MiB.
   */
  maxBufferedBytes?: number;
}

/** The OPQ bridge: an HTTP request handler plus its start-up work. */
export interface OpqBridge {
  /** Serves `POST /opq/push` and `POST /opq/replay`; 404/405 for anything else. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Answers a request that arrives once the server is shutting down (on a kept-alive connection):
   * `503 ServiceUnavailable` and `Connection: close`, the answer of a request the broker refused
   * for that reason.
   */
  refuseWhileClosing(req: IncomingMessage, res: ServerResponse): void;
  /** Brings existing OPQ topics in line with the current delivery options (before listening). */
  start(): Promise<void>;
}

/**
 * The OPQ bridge (README "OPQ bridge"): OPQ's form-post push queue on the
 * broker's Protobuf services. A push stores one message on the topic (the form fields and the
 * producer's headers as attributes); the topic's ordered form-push subscription delivers it; a
 * replay is a Seek. The bridge only translates.
 */
export function createOpqBridge(deps: OpqBridgeDeps, options: OpqOptions): OpqBridge {
  const { logger, metrics } = deps;
  const budget: BodyBudget = createBodyBudget(options.maxBufferedBytes ?? 256 * 1024 * 1024);
  const topics = createOpqTopics(() => deps.clients, options, logger);
  const authOn = deps.auth?.authenticator.enabled === true;
  const challenge = deps.auth?.authenticator.wwwAuthenticate;
  /** The producer's `Authorization` header is the broker's credentials when auth is on: never stored or forwarded. */
  const dropHeaders: ReadonlySet<string> = new Set(authOn ? ["authorization"] : []);

  /**
   * The one place a request gets its broker clients: the bridge's own while auth is off, else the
   * clients of the user its HTTP Basic (or bearer) header names. Rejects UNAUTHENTICATED.
   */
  const clientsFor = (req: IncomingMessage): Promise<BrokerClients> =>
    httpRequestClients(deps.auth, deps.clients, req.headers.authorization, req.socket?.remoteAddress ?? "");

  /**
   * Reads the request's form, or answers (413, 503) and resolves undefined. The body's bytes stay
   * counted against the budget until `release` (after the request's broker calls): its parsed
   * form and the message built from it take about as much memory until then.
   */
  async function readForm(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{ form: Form; release(): void } | undefined> {
    let body: Awaited<ReturnType<typeof readBody>>;
    try {
      body = await readBody(req, budget);
    } catch (e) {
      if (!(e instanceof FormError)) {
        // The client went away mid-body: nobody to answer, and not a failure of the broker.
        if (req.readableAborted) {
          res.destroy();
          return undefined;
        }
        throw e;
      }
      // The rest of the body is not read: the connection cannot be reused.
      if (e.kind === "busy") sendText(res, 503, `ServiceUnavailable: ${e.message}`, { Connection: "close" });
      else sendText(res, 413, `RequestEntityTooLarge: ${e.message}`, { Connection: "close" });
      return undefined;
    }
    try {
      return {
        form: parseForm(rawQuery(req.url ?? ""), req.headers["content-type"] ?? "", body.body),
        release: body.release,
      };
    } catch (e) {
      body.release();
      throw e;
    }
  }

  /** Runs `handle` on the request's form, then gives its bytes back to the budget. */
  async function withForm(req: IncomingMessage, res: ServerResponse, handle: (form: Form) => Promise<void>) {
    const read = await readForm(req, res);
    if (!read) return;
    try {
      await handle(read.form);
    } finally {
      read.release();
    }
  }

  async function push(req: IncomingMessage, res: ServerResponse, form: Form, clients: BrokerClients): Promise<void> {
    const message = pushMessage(form, req, {
      maxAttributes: options.maxAttributes,
      urlAllowed: options.urlAllowed,
      dropHeaders,
    });
    if ("refused" in message) {
      sendBadRequest(res, message.refused);
      return;
    }
    // Set-up (topics.ts, the bridge's own clients) only for a user the broker lets publish there.
    const permitted = clients === deps.clients ? undefined : () => checkMayPublish(clients, message.topic);
    const publish = () =>
      clients.publisher.publish(
        { topic: message.topic, messages: [{ attributes: message.attributes, orderingKey: OPQ_ORDERING_KEY }] },
        { signal: deps.shutdownSignal },
      );
    try {
      await topics.ensure(message.topic, permitted);
      try {
        await publish();
      } catch (e) {
        // Deleted through another door since it was checked: prepare it again, once.
        if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
        await topics.ensure(message.topic, permitted);
        await publish();
      }
      sendSuccess(res);
    } catch (e) {
      if (e instanceof TopicConflictError) {
        logger.warn("opq: push refused", { topic: message.topic, error: e.message });
        sendText(res, 500, "InternalServerError");
        return;
      }
      throw e;
    }
  }

  async function replayHandler(
    _req: IncomingMessage,
    res: ServerResponse,
    form: Form,
    clients: BrokerClients,
  ): Promise<void> {
    const request = replayRequest(form);
    if ("refused" in request) {
      sendBadRequest(res);
      return;
    }
    if (await replay(deps.clients, clients, request.topic, request.cmd)) sendSuccess(res);
    else sendText(res, 500, "delivery service is not ready");
  }

  /**
   * Runs a route as the request's user. Credentials are checked before the body is read: a 401
   * leaves the body unread and closes the connection (see `sendBrokerError`).
   */
  async function serveRoute(
    req: IncomingMessage,
    res: ServerResponse,
    route: (req: IncomingMessage, res: ServerResponse, form: Form, clients: BrokerClients) => Promise<void>,
  ): Promise<void> {
    const clients = await clientsFor(req);
    await withForm(req, res, (form) => route(req, res, form, clients));
  }

  const routes: Record<
    string,
    (req: IncomingMessage, res: ServerResponse, form: Form, clients: BrokerClients) => Promise<void>
  > = {
    "/opq/push": push,
    "/opq/replay": replayHandler,
  };

  return {
    handle(req, res) {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      const route = routes[path];
      if (!route) {
        sendNotFound(res);
        return;
      }
      if (req.method !== "POST") {
        sendMethodNotAllowed(res);
        return;
      }
      const command = path.slice("/opq/".length);
      metrics.command(BRIDGE, command);
      serveRoute(req, res, route).catch((e: unknown) => {
        metrics.error(BRIDGE, command);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendBrokerError(res, e, logger, command, challenge);
      });
    },
    refuseWhileClosing(_req, res) {
      sendShuttingDown(res);
    },
    start: () => topics.reconcile(),
  };
}
