/**
 * `POST /api/subscribe` (docs/gophermq.md "Endpoints", "Bounds", "Users"): each call makes a new
 * subscriber, a subscription `<prefix><uuid>` on the subject's topic (the topic too when there is
 * none), within the bridge's cap on live subscribers.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { type BrokerClients, checkMayConsume, reasonOfAny } from "../bridge.js";
import type { EndpointAnswers } from "./answers.js";
import type { EndpointDeps } from "./endpoint-deps.js";
import { type GopherRequest, type GopherResponse, sendJson } from "./http-io.js";
import { badSubject } from "./subject.js";

/** The subscribe handler: answers the request and returns the status it sent. */
export type SubscribeEndpoint = (req: GopherRequest, res: GopherResponse, signal?: AbortSignal) => Promise<number>;

/** Creates the subscribe handler of one bridge. */
export function createSubscribeEndpoint(deps: EndpointDeps, answers: EndpointAnswers): SubscribeEndpoint {
  const { registry } = deps;
  const { bind, failed, send } = answers;
  /** Subscribes under way, counted against the subscriber cap before they are done. */
  let subscribing = 0;

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

  return subscribe;
}
