import type { Logger } from "../../util/index.js";
import { reasonOf, reasonOfAny } from "../bridge.js";
import { HttpError } from "./http-io.js";

/**
 * What `WWW-Authenticate` says with a 401 for missing or refused credentials. RestMQ's own header
 * was malformed (`RestMQ Restricted Access realm="Restricted Access"`, arguments swapped); clients
 * only look for the 401 (docs/restmq.md).
 */
export const BASIC_CHALLENGE = 'Basic realm="RestMQ Restricted Access"';

/** Reasons that mean "the queue does not exist (or cannot, by its name)": reads treat the queue as empty. */
const ABSENT = new Set(["TOPIC_NOT_FOUND", "SUBSCRIPTION_NOT_FOUND"]);

/** True when a broker error says the queue is not there. */
export function isAbsent(e: unknown): boolean {
  const reason = reasonOf(e);
  return reason !== undefined && ABSENT.has(reason);
}

/**
 * How a broker error renders on the RestMQ port (docs/architecture.md: rendered at the edge).
 * RestMQ answered 503 for every failure behind it (Redis down); the bridge does the same for
 * failures that are not the client's, and tells the client's own faults apart:
 * a name or value the broker cannot store → 400, a get of a queue the broker pushes → 409, a
 * message over the size limit → 413, missing
 * or refused credentials → 401 with a Basic challenge (docs/restmq.md).
 */
export function toHttpError(e: unknown, logger: Logger, what: string): HttpError {
  if (e instanceof HttpError) return e;
  // Broker clients fail with a ConnectError; the authenticator with a BrokerError.
  const reason = reasonOfAny(e);
  switch (reason) {
    case "INVALID_NAME":
    case "INVALID_ARGUMENT":
      return new HttpError(400, reason);
    case "PAYLOAD_TOO_LARGE":
    case "BATCH_TOO_LARGE":
      return new HttpError(413, reason);
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED":
      return new HttpError(401, reason, { "WWW-Authenticate": BASIC_CHALLENGE });
    case "PUSH_SUBSCRIPTION":
      // The broker pushes this queue's messages itself (an OPQ topic, say): a get would take them from the pushes.
      return new HttpError(409, reason);
    case "SHUTTING_DOWN":
    case "REPLAY_LIMIT": // DELETE of a queue too big to empty in one Seek while other subscriptions share its topic
      return new HttpError(503, reason);
    default:
      logger.error("restmq: request failed", { what, reason, error: e });
      return new HttpError(503, reason ?? "internal error");
  }
}
