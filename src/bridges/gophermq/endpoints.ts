import { randomUUID } from "node:crypto";
import type { Logger } from "../../util/index.js";
import { type BrokerClients, checkMayConsume, metadataOfAny, reasonOfAny } from "../bridge.js";
import { type BoundFields, bindBody } from "./bind.js";
import type { FetchSettler } from "./fetch-settle.js";
import { goJsonStrings } from "./go-json.js";
import {
  bodyHead,
  type GopherRequest,
  type GopherResponse,
  readBody,
  sendJson,
  sendMessage,
  sendUnauthorized,
} from "./http-io.js";
import type { PublishPermissions } from "./permissions.js";
import type { PublishOutcome, SubjectPublisher } from "./publisher.js";
import { badSubject } from "./subject.js";
import type { SubscriberRegistry } from "./subscribers.js";
import type { TopicCleanup } from "./topic-cleanup.js";
import { createTurns } from "./turns.js";

/** The GopherMQ methods whose requests GopherMQ counts in its metrics. */
export type GopherMethod = "publish" | "subscribe" | "fetch";

/** What the endpoints need. */
export interface EndpointDeps {
  /** The broker clients of this request's user (the bridge's own while auth is off). */
  clientsFor(req: GopherRequest): BrokerClients;
  /**
   * The bridge's own clients: for what the bridge does on a user's behalf once the broker has said
   * the user may (creating a subscriber's subscription and topic, finding a subscriber's subject).
   */
  bridgeClients: BrokerClients;
  /** Whether a user may publish to a subject (asked once per user and subject). */
  publishPermissions: PublishPermissions;
  /** The `WWW-Authenticate` value of a 401. */
  challenge: string;
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
  /** Lease of the messages a fetch takes, until its answer is out and they are acked. */
  fetchLeaseMs: number;
  /** Acks a fetch's messages once its answer is out, or gives them back. */
  settler: FetchSettler;
  /** Waits for room for one more async publish; resolves false when there is none in time. */
  asyncSlot(signal: AbortSignal): Promise<(() => void) | undefined>;
  /** The live subscribers (capped) and the topics the bridge created. */
  registry: SubscriberRegistry;
  /** Deletes unused topics the bridge created; a subscribe waits for its subject's cleanup. */
  cleanup: TopicCleanup;
}

const INVALID_BODY = "request's body is invalid";

/** How long a fetch waits for the acks and releases of earlier fetches of its subscriber. */
const SETTLED_WAIT_MS = 1000;

/**
 * The four GopherMQ API handlers (docs/gophermq.md). Each answers the request itself and returns
 * the status it sent, for GopherMQ's metrics.
 */
export function createEndpoints(deps: EndpointDeps) {
  const { registry } = deps;
  /** Subscribes under way, counted against the subscriber cap before they are done. */
  let subscribing = 0;

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
    const reason = reasonOfAny(error);
    if (reason === "UNAUTHENTICATED") return unauthorized(req, res, error);
    if (reason === "PERMISSION_DENIED") return send(req, res, 403, "Forbidden");
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

  /** 401 for a broker call refused as UNAUTHENTICATED (credentials were checked at the door already). */
  function unauthorized(req: GopherRequest, res: GopherResponse, error: unknown): number {
    sendUnauthorized(req, res, deps.challenge, Number(metadataOfAny(error).retry_after_ms), false);
    return 401;
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
      case "busy":
        return send(req, res, 503, "Service Unavailable");
      case "failed":
        return failed(req, res, "publish", outcome.error);
    }
  }

  async function publish(req: GopherRequest, res: GopherResponse, _signal?: AbortSignal): Promise<number> {
    const bound = await bind(req, res, ["subject", "data"] as const);
    if ("status" in bound) return bound.status as number;
    if (badSubject(bound.subject)) return send(req, res, 400, "invalid subject");
    const clients = deps.clientsFor(req);
    try {
      // Before GopherMQ's own checks: a user the broker refuses learns nothing about the subject.
      await deps.publishPermissions.check(clients, bound.subject);
    } catch (e) {
      return failed(req, res, "publish", e);
    }
    const outcome = await deps.publisher.publish(clients, bound.subject, Buffer.from(bound.data));
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
    const clients = deps.clientsFor(req);
    try {
      // A refusal is answered, not only logged: no user publishes blind.
      await deps.publishPermissions.check(clients, subject);
    } catch (e) {
      return failed(req, res, "publish", e);
    }
    const release = await deps.asyncSlot(signal);
    if (!release) return send(req, res, 503, "Service Unavailable");
    if (!deps.publisher.admits(bound.data.length)) {
      release();
      return send(req, res, 503, "Service Unavailable");
    }
    void deps.publisher.publish(clients, subject, Buffer.from(bound.data)).then((outcome) => {
      release();
      if (outcome.kind === "ok") return;
      warn(outcome.kind === "failed" ? (reasonOfAny(outcome.error) ?? String(outcome.error)) : outcome.kind);
    });
    sendJson(req, res, 200, { status: "ok" });
    return 200;
  }

  async function subscribe(req: GopherRequest, res: GopherResponse, _signal?: AbortSignal): Promise<number> {
    const bound = await bind(req, res, ["subject"] as const);
    if ("status" in bound) return bound.status as number;
    const subject = bound.subject;
    if (badSubject(subject)) return send(req, res, 400, "invalid subject");
    const clients = deps.clientsFor(req);
    if (clients !== deps.bridgeClients) {
      try {
        // The bridge creates the subscription (and topic) itself, so the broker is asked first
        // whether this user may consume from the subject: a refused user creates nothing.
        await checkMayConsume(clients, subject);
      } catch (e) {
        if (reasonOfAny(e) === "INVALID_NAME") return send(req, res, 400, "invalid subject");
        return failed(req, res, "subscribe", e);
      }
    }
    // A bound of this bridge, not GopherMQ's (docs/gophermq.md "Bounds").
    if (!registry.hasRoom(subscribing)) return send(req, res, 429, "too many subscribers");
    subscribing++;
    const turn = await deps.cleanup.beforeSubscribe(subject);
    try {
      const id = randomUUID();
      const outcome = await createSubscriber(deps.bridgeClients, id, subject);
      if (outcome !== "ok") {
        if (reasonOfAny(outcome.error) === "INVALID_NAME") return send(req, res, 400, "invalid subject");
        return failed(req, res, "subscribe", outcome.error);
      }
      registry.add(id, subject);
      sendJson(req, res, 200, { id, subject });
      return 200;
    } finally {
      turn.done();
      subscribing--;
    }
  }

  /** Creates subscription `gophermq-<id>` on topic `subject`, and the topic first if there is none. */
  async function createSubscriber(
    clients: BrokerClients,
    id: string,
    subject: string,
  ): Promise<"ok" | { error: unknown }> {
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
        if (reasonOfAny(e) !== "TOPIC_NOT_FOUND") throw e;
        try {
          await clients.admin.createTopic({ name: subject });
          registry.createdTopic(subject);
        } catch (c) {
          if (reasonOfAny(c) !== "ALREADY_EXISTS") throw c;
        }
        await clients.admin.createSubscription({ subscription });
      }
      return "ok";
    } catch (error) {
      return { error };
    }
  }

  /** The subject of subscriber `id`, or undefined when there is no such subscriber. */
  async function subjectOf(clients: BrokerClients, id: string): Promise<string | undefined> {
    const cached = registry.use(id);
    if (cached !== undefined) return cached;
    try {
      // Not known here: made before a restart (or forgotten after its idle expiry).
      const sub = await clients.admin.getSubscription({ name: `${deps.subscriptionPrefix}${id}` });
      const subject = sub.subscription?.topic;
      if (subject !== undefined && registry.hasRoom(0)) registry.add(id, subject);
      return subject;
    } catch (e) {
      const reason = reasonOfAny(e);
      if (reason === "SUBSCRIPTION_NOT_FOUND" || reason === "INVALID_NAME") return undefined;
      throw e;
    }
  }

  const turns = createTurns();

  /**
   * Leases what the subscriber has (up to the fetch limits), answers it, and acks it once the
   * answer is out; if the client goes away first, the messages are given back (fetch-settle.ts).
   */
  async function fetch(req: GopherRequest, res: GopherResponse, signal: AbortSignal): Promise<number> {
    const bound = await bind(req, res, ["subject", "id"] as const);
    if ("status" in bound) return bound.status as number;
    const { subject, id } = bound;
    // GopherMQ's handler does not map this error: 500.
    if (badSubject(subject)) return send(req, res, 500, "server error");
    const clients = deps.clientsFor(req);
    const subscription = `${deps.subscriptionPrefix}${id}`;
    const turn = turns.take(subscription);
    try {
      return await fetchInTurn(req, res, signal, { clients, subject, id, subscription, before: turn.before });
    } finally {
      turn.done();
    }
  }

  async function fetchInTurn(
    req: GopherRequest,
    res: GopherResponse,
    signal: AbortSignal,
    f: { clients: BrokerClients; subject: string; id: string; subscription: string; before: Promise<void> },
  ): Promise<number> {
    const { clients, subject, id, subscription } = f;
    const data: Uint8Array[] = [];
    const ackIds: string[] = [];
    try {
      // The bridge's own lookup; the Pull below, as the user, is what the broker judges.
      if (id === "" || (await subjectOf(deps.bridgeClients, id)) !== subject) return send(req, res, 404, "bad id");
      // One fetch of a subscriber at a time, and after the acks and releases of the ones before:
      // messages a fetch whose client went away gives back go to the next fetch.
      await f.before;
      await deps.settler.settled(subscription, SETTLED_WAIT_MS);
      let bytes = 0;
      while (data.length < deps.fetchMaxMessages && bytes < deps.fetchMaxBytes && !signal.aborted) {
        const room = Math.floor((deps.fetchMaxBytes - bytes) / deps.maxMessageBytes);
        const want = Math.min(deps.fetchMaxMessages - data.length, Math.max(1, room));
        const got = await clients.subscriber.pull({
          subscription,
          maxMessages: want,
          // The fetch's own byte bound, not the Pull's default of 4 MiB (README: max_bytes).
          maxBytes: BigInt(deps.fetchMaxBytes - bytes),
          ackDeadlineMs: BigInt(deps.fetchLeaseMs),
        });
        for (const m of got.messages) {
          const d = m.message?.data ?? new Uint8Array();
          data.push(d);
          ackIds.push(m.ackId);
          bytes += d.length;
        }
        if (got.messages.length < want) break;
      }
    } catch (e) {
      if (reasonOfAny(e) === "SUBSCRIPTION_NOT_FOUND") {
        registry.forget(id);
        // Messages taken by an earlier pull of this fetch are answered, not dropped.
        if (data.length === 0) return send(req, res, 404, "bad id");
      } else if (data.length === 0) return failed(req, res, "fetch", e);
      else deps.logger.warn("gophermq: fetch cut short; answering what it took", { subject, error: e });
    }
    // Encoded ahead with turns of the event loop between large messages (up to ~100 MB of JSON).
    sendJson(req, res, 200, { data: await goJsonStrings(data), id, subject });
    deps.settler.settle(res, signal, clients, subscription, ackIds);
    return 200;
  }

  return { publish, publishAsync, subscribe, fetch };
}
