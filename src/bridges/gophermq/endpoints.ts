import { randomUUID } from "node:crypto";
import type { Logger } from "../../util/index.js";
import { type BrokerClients, reasonOf } from "../bridge.js";
import { type BoundFields, bindBody } from "./bind.js";
import { bodyHead, type GopherRequest, type GopherResponse, readBody, sendJson, sendMessage } from "./http-io.js";
import type { PublishOutcome, SubjectPublisher } from "./publisher.js";
import { badSubject } from "./subject.js";

/** The GopherMQ methods whose requests GopherMQ counts in its metrics. */
export type GopherMethod = "publish" | "subscribe" | "fetch";

/** What the endpoints need. */
export interface EndpointDeps {
  /** The broker clients for this request (one place, so auth can hand out per-principal clients). */
  clientsFor(req: GopherRequest): BrokerClients;
  publisher: SubjectPublisher;
  logger: Logger;
  /** Prefix of the subscription names the bridge creates; the GopherMQ id follows it. */
  subscriptionPrefix: string;
  /** `expire_after_idle_ms` of each subscriber's subscription. */
  idleExpiryMs: number;
  /** Largest request body read, in bytes; larger ones get 413. */
  maxBodyBytes: number;
  /** Most messages one fetch returns. */
  fetchMaxMessages: number;
  /** About the most data bytes one fetch returns (at least one message). */
  fetchMaxBytes: number;
  /** Largest message data in bytes (sizes each pull of a fetch). */
  maxMessageBytes: number;
  /** Waits for room for one more async publish; resolves false when there is none in time. */
  asyncSlot(signal: AbortSignal): Promise<(() => void) | undefined>;
}

const INVALID_BODY = "request's body is invalid";

/** Subscriber ids (GopherMQ: UUID v4 strings) whose subject is known, so a fetch needs no lookup. */
const MAX_KNOWN_IDS = 100_000;

/**
 * The four GopherMQ API handlers (docs/gophermq.md). Each answers the request itself and returns
 * the status it sent, for GopherMQ's metrics.
 */
export function createEndpoints(deps: EndpointDeps) {
  const known = new Map<string, string>();
  const remember = (id: string, subject: string) => {
    if (known.size >= MAX_KNOWN_IDS) known.delete(known.keys().next().value as string);
    known.set(id, subject);
  };

  /** Reads and binds the body; answers 400/413 itself and returns undefined on failure. */
  async function bind<F extends string>(
    req: GopherRequest,
    res: GopherResponse,
    fields: readonly F[],
  ): Promise<BoundFields<F> | { status: number }> {
    const body = await readBody(req, deps.maxBodyBytes);
    if (body === "too-large") {
      // The rest of the body is not read: an HTTP/1.1 connection closes after the answer.
      const close: Record<string, string> = req.httpVersionMajor === 1 ? { connection: "close" } : {};
      sendJson(req, res, 413, { message: "Request Entity Too Large" }, close);
      return { status: 413 };
    }
    const bound = bindBody(bodyHead(req), body, fields);
    if (bound) return bound;
    sendMessage(req, res, 400, INVALID_BODY);
    return { status: 400 };
  }

  /** Answers a broker failure; returns the status. */
  function failed(req: GopherRequest, res: GopherResponse, what: string, error: unknown): number {
    const reason = reasonOf(error);
    if (reason === "SHUTTING_DOWN") return send(req, res, 503, "Service Unavailable");
    if (reason === "PAYLOAD_TOO_LARGE") return send(req, res, 413, "Request Entity Too Large");
    if (reason === "BACKLOG_FULL") return send(req, res, 429, "broker overflow");
    deps.logger.error(`gophermq: ${what} failed`, { error });
    return send(req, res, 500, "server error");
  }

  function send(req: GopherRequest, res: GopherResponse, status: number, message: string): number {
    sendMessage(req, res, status, message);
    return status;
  }

  function answerPublish(req: GopherRequest, res: GopherResponse, outcome: PublishOutcome): number {
    switch (outcome.kind) {
      case "ok":
        sendJson(req, res, 200, { status: "ok" });
        return 200;
      case "overflow":
        return send(req, res, 429, "broker overflow");
      case "no-subscriber":
        return send(req, res, 404, "subscriber not found");
      case "too-large":
        return send(req, res, 413, "Request Entity Too Large");
      case "failed":
        return failed(req, res, "publish", outcome.error);
    }
  }

  async function publish(req: GopherRequest, res: GopherResponse): Promise<number> {
    const bound = await bind(req, res, ["subject", "data"] as const);
    if ("status" in bound) return bound.status as number;
    if (badSubject(bound.subject)) return send(req, res, 400, "invalid subject");
    const outcome = await deps.publisher.publish(deps.clientsFor(req), bound.subject, Buffer.from(bound.data));
    return answerPublish(req, res, outcome);
  }

  /** Answers 200 once the body binds; the publish runs after, and whatever fails is logged. */
  async function publishAsync(req: GopherRequest, res: GopherResponse, signal: AbortSignal): Promise<number> {
    const bound = await bind(req, res, ["subject", "data"] as const);
    if ("status" in bound) return bound.status as number;
    const subject = bound.subject;
    const warn = (reason: string) =>
      deps.logger.warn("gophermq: async publish failed; the message was not stored", { subject, reason });
    if (badSubject(subject)) {
      warn("invalid subject");
      sendJson(req, res, 200, { status: "ok" });
      return 200;
    }
    const release = await deps.asyncSlot(signal);
    if (!release) return send(req, res, 503, "Service Unavailable");
    void deps.publisher.publish(deps.clientsFor(req), subject, Buffer.from(bound.data)).then((outcome) => {
      release();
      if (outcome.kind === "ok") return;
      warn(outcome.kind === "failed" ? (reasonOf(outcome.error) ?? String(outcome.error)) : outcome.kind);
    });
    sendJson(req, res, 200, { status: "ok" });
    return 200;
  }

  async function subscribe(req: GopherRequest, res: GopherResponse): Promise<number> {
    const bound = await bind(req, res, ["subject"] as const);
    if ("status" in bound) return bound.status as number;
    const subject = bound.subject;
    if (badSubject(subject)) return send(req, res, 400, "invalid subject");
    const clients = deps.clientsFor(req);
    const id = randomUUID();
    const subscription = {
      name: `${deps.subscriptionPrefix}${id}`,
      topic: subject,
      expireAfterIdleMs: BigInt(deps.idleExpiryMs),
      start: { at: { case: "latest" as const, value: true } },
    };
    try {
      try {
        await clients.admin.createSubscription({ subscription });
      } catch (e) {
        if (reasonOf(e) !== "TOPIC_NOT_FOUND") throw e;
        await clients.admin.createTopic({ name: subject }).catch((c: unknown) => {
          if (reasonOf(c) !== "ALREADY_EXISTS") throw c;
        });
        await clients.admin.createSubscription({ subscription });
      }
    } catch (e) {
      if (reasonOf(e) === "INVALID_NAME") return send(req, res, 400, "invalid subject");
      return failed(req, res, "subscribe", e);
    }
    remember(id, subject);
    sendJson(req, res, 200, { id, subject });
    return 200;
  }

  /** The subject of subscriber `id`, or undefined when there is no such subscriber. */
  async function subjectOf(clients: BrokerClients, id: string): Promise<string | undefined> {
    const cached = known.get(id);
    if (cached !== undefined) return cached;
    try {
      const sub = await clients.admin.getSubscription({ name: `${deps.subscriptionPrefix}${id}` });
      return sub.subscription?.topic;
    } catch (e) {
      const reason = reasonOf(e);
      if (reason === "SUBSCRIPTION_NOT_FOUND" || reason === "INVALID_NAME") return undefined;
      throw e;
    }
  }

  async function fetch(req: GopherRequest, res: GopherResponse): Promise<number> {
    const bound = await bind(req, res, ["subject", "id"] as const);
    if ("status" in bound) return bound.status as number;
    const { subject, id } = bound;
    // GopherMQ's handler does not map this error: 500.
    if (badSubject(subject)) return send(req, res, 500, "server error");
    const clients = deps.clientsFor(req);
    const data: Uint8Array[] = [];
    try {
      if (id === "" || (await subjectOf(clients, id)) !== subject) return send(req, res, 404, "bad id");
      let bytes = 0;
      while (data.length < deps.fetchMaxMessages && bytes < deps.fetchMaxBytes) {
        const room = Math.floor((deps.fetchMaxBytes - bytes) / deps.maxMessageBytes);
        const want = Math.min(deps.fetchMaxMessages - data.length, Math.max(1, room));
        const got = await clients.subscriber.pull({
          subscription: `${deps.subscriptionPrefix}${id}`,
          maxMessages: want,
          autoAck: true,
        });
        for (const m of got.messages) {
          const d = m.message?.data ?? new Uint8Array();
          data.push(d);
          bytes += d.length;
        }
        if (got.messages.length < want) break;
      }
    } catch (e) {
      if (reasonOf(e) === "SUBSCRIPTION_NOT_FOUND") {
        known.delete(id);
        // Messages taken by an earlier pull of this fetch are answered, not dropped.
        if (data.length === 0) return send(req, res, 404, "bad id");
      } else if (data.length === 0) return failed(req, res, "fetch", e);
      else deps.logger.warn("gophermq: fetch cut short; answering what it took", { subject, error: e });
    }
    sendJson(req, res, 200, { data, id, subject });
    return 200;
  }

  return { publish, publishAsync, subscribe, fetch };
}
