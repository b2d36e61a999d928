import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../../util/index.js";
import { type BridgeMetrics, type BrokerClients, reasonOf } from "../bridge.js";
import { type BodyBudget, createBodyBudget, type Form, FormError, parseForm, readBody } from "./form.js";
import { pushMessage } from "./push.js";
import { replay, replayRequest } from "./replay.js";
import {
  sendBadRequest,
  sendBrokerError,
  sendMethodNotAllowed,
  sendNotFound,
  sendSuccess,
  sendText,
} from "./respond.js";
import { createOpqTopics, OPQ_ORDERING_KEY, type OpqDeliveryOptions, TopicConflictError } from "./topics.js";

/** Key of the bridge in the ready line, logs and metrics. */
const BRIDGE = "opq";

/** What the OPQ bridge needs from the server. */
export interface OpqBridgeDeps {
  clients: BrokerClients;
  logger: Logger;
  metrics: BridgeMetrics;
  /** Aborted when the server shuts down. */
  shutdownSignal: AbortSignal;
}

/** Options of {@link createOpqBridge}. */
export interface OpqOptions extends OpqDeliveryOptions {
  /** Most attributes one message may have (the broker's limit; fields plus headers). */
  maxAttributes: number;
  /** True when a target URL's host may be used (`--push-allowed-hosts`). */
  urlAllowed: (url: URL) => boolean;
  /** Bytes of request bodies held in memory at once, across requests. Default 256 MiB. */
  maxBufferedBytes?: number;
}

/** The OPQ bridge: an HTTP request handler plus its start-up work. */
export interface OpqBridge {
  /** Serves `POST /opq/push` and `POST /opq/replay`; 404/405 for anything else. Never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Brings existing OPQ topics in line with the current delivery options (before listening). */
  start(): Promise<void>;
}

/**
 * The OPQ bridge (protocols.md §1; README "OPQ bridge"): OPQ's form-post push queue on the
 * broker's Protobuf services. A push stores one message on the topic (the form fields and the
 * producer's headers as attributes); the topic's ordered form-push subscription delivers it; a
 * replay is a Seek. The bridge only translates.
 */
export function createOpqBridge(deps: OpqBridgeDeps, options: OpqOptions): OpqBridge {
  const { logger, metrics } = deps;
  const budget: BodyBudget = createBodyBudget(options.maxBufferedBytes ?? 256 * 1024 * 1024);
  const topics = createOpqTopics(() => deps.clients, options, logger);
  /**
   * The one place a request gets its broker clients. When the broker has users this becomes
   * `clientsAs(await auth.fromHttpBasic(req.headers.authorization, peer))`, and `authorization`
   * joins `dropHeaders` of {@link pushMessage} so a producer's credentials never reach a target.
   * (Topic set-up in topics.ts stays on the bridge's own clients.)
   */
  const clientsFor = (_req: IncomingMessage): BrokerClients => deps.clients;

  async function readForm(req: IncomingMessage, res: ServerResponse): Promise<Form | undefined> {
    let body: Awaited<ReturnType<typeof readBody>>;
    try {
      body = await readBody(req, budget);
    } catch (e) {
      if (!(e instanceof FormError)) throw e;
      // The rest of the body is not read: the connection cannot be reused.
      if (e.kind === "busy") sendText(res, 503, `ServiceUnavailable: ${e.message}`, { Connection: "close" });
      else sendText(res, 413, `RequestEntityTooLarge: ${e.message}`, { Connection: "close" });
      return undefined;
    }
    try {
      const query = (req.url ?? "").split("?")[1] ?? "";
      return parseForm(query.split("#")[0] ?? "", req.headers["content-type"] ?? "", body.body);
    } catch (e) {
      if (!(e instanceof FormError)) throw e;
      sendBadRequest(res, e.message);
      return undefined;
    } finally {
      body.release();
    }
  }

  async function push(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req, res);
    if (!form) return;
    const message = pushMessage(form, req, { maxAttributes: options.maxAttributes, urlAllowed: options.urlAllowed });
    if ("refused" in message) {
      sendBadRequest(res, message.refused);
      return;
    }
    const clients = clientsFor(req);
    const publish = () =>
      clients.publisher.publish(
        { topic: message.topic, messages: [{ attributes: message.attributes, orderingKey: OPQ_ORDERING_KEY }] },
        { signal: deps.shutdownSignal },
      );
    try {
      await topics.ensure(message.topic);
      try {
        await publish();
      } catch (e) {
        // Deleted behind our back since it was prepared: prepare it again, once.
        if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
        topics.forget(message.topic);
        await topics.ensure(message.topic);
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

  async function replayHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await readForm(req, res);
    if (!form) return;
    const request = replayRequest(form);
    if ("refused" in request) {
      sendBadRequest(res);
      return;
    }
    if (await replay(clientsFor(req), request.topic, request.cmd)) sendSuccess(res);
    else sendText(res, 500, "delivery service is not ready");
  }

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
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
      route(req, res).catch((e: unknown) => {
        metrics.error(BRIDGE, command);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        sendBrokerError(res, e, logger, command);
      });
    },
    start: () => topics.reconcile(),
  };
}
