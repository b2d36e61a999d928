/**
 * `POST /api/publish` and `POST /api/publish/async` (docs/gophermq.md "Endpoints"): bind the body,
 * check the subject and the user's right to publish, then publish through the subject publisher
 * (publisher.ts) and answer its outcome, or, for async, answer first and log what fails.
 *
 * @module
 */
import { reasonOfAny } from "../bridge.js";
import type { EndpointAnswers } from "./answers.js";
import type { EndpointDeps } from "./endpoint-deps.js";
import { type GopherRequest, type GopherResponse, sendJson } from "./http-io.js";
import type { PublishOutcome } from "./publisher.js";
import { badSubject } from "./subject.js";

/** The two publish handlers; each answers the request and returns the status it sent. */
export interface PublishEndpoints {
  /** `POST /api/publish`: answered once the message is stored (or refused). */
  publish(req: GopherRequest, res: GopherResponse, signal?: AbortSignal): Promise<number>;
  /** `POST /api/publish/async`: 200 once the body binds; the publish runs after, and whatever fails is logged. */
  publishAsync(req: GopherRequest, res: GopherResponse, signal: AbortSignal): Promise<number>;
}

/** Creates the publish handlers of one bridge. */
export function createPublishEndpoints(deps: EndpointDeps, answers: EndpointAnswers): PublishEndpoints {
  const { bind, failed, send } = answers;

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

  return { publish, publishAsync };
}
