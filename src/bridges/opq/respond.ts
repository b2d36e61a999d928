import type { ServerResponse } from "node:http";
import { ConnectError } from "@connectrpc/connect";
import { BrokerError } from "../../errors/index.js";
import type { Logger } from "../../util/index.js";
import { metadataOfAny, reasonOfAny } from "../bridge.js";

/** The content type Go's server sniffs for OPQ's plain-text answers. */
const TEXT = "text/plain; charset=utf-8";

/** Answers `status` with a plain-text `body` (OPQ's answers are all `text/plain; charset=utf-8`). */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {},
): void {
  const extra = { ...headers };
  // HTTP/2 has no Connection header (Node refuses it); the stream ends with the answer anyway.
  if (res.req.httpVersionMajor >= 2) delete extra.Connection;
  res.writeHead(status, { "Content-Type": TEXT, "Content-Length": String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

/** OPQ's success: `201` with the 7 bytes `success`. */
export function sendSuccess(res: ServerResponse): void {
  sendText(res, 201, "success");
}

/** Go's `http.NotFound`, what gorilla/mux answers for a path it has no route for. */
export function sendNotFound(res: ServerResponse): void {
  sendText(res, 404, "404 page not found\n", { "X-Content-Type-Options": "nosniff" });
}

/** gorilla/mux (≥ 1.6.1) for a route's path with another method: 405 and an empty body. */
export function sendMethodNotAllowed(res: ServerResponse): void {
  res.writeHead(405, { "Content-Length": "0" });
  res.end();
}

/** `400` with OPQ's `BadRequest: <detail>` body (or just `BadRequest`). */
export function sendBadRequest(res: ServerResponse, detail?: string): void {
  sendText(res, 400, detail === undefined ? "BadRequest" : `BadRequest: ${detail}`);
}

/** `503 ServiceUnavailable` with `Connection: close`: the server is shutting down. */
export function sendShuttingDown(res: ServerResponse): void {
  sendText(res, 503, "ServiceUnavailable", { Connection: "close" });
}

/** How each broker reason renders in OPQ's dialect (README "OPQ bridge"); others are 500. */
const RENDERINGS: Record<
  string,
  { status: number; name: string; showMessage: boolean; headers?: Record<string, string> }
> = {
  INVALID_ARGUMENT: { status: 400, name: "BadRequest", showMessage: true },
  INVALID_NAME: { status: 400, name: "BadRequest", showMessage: true },
  REPLAY_LIMIT: { status: 400, name: "BadRequest", showMessage: true },
  PAYLOAD_TOO_LARGE: { status: 413, name: "RequestEntityTooLarge", showMessage: true },
  BATCH_TOO_LARGE: { status: 413, name: "RequestEntityTooLarge", showMessage: true },
  BACKLOG_FULL: { status: 429, name: "TooManyRequests", showMessage: true },
  // Credentials are checked before the body is read: the connection cannot be reused.
  UNAUTHENTICATED: { status: 401, name: "Unauthorized", showMessage: true, headers: { Connection: "close" } },
  PERMISSION_DENIED: { status: 403, name: "Forbidden", showMessage: true },
  SHUTTING_DOWN: { status: 503, name: "ServiceUnavailable", showMessage: false, headers: { Connection: "close" } },
};

/** The challenge of a 401 when the caller gives none (the broker's; see src/auth/authenticator.ts). */
const DEFAULT_CHALLENGE = 'Basic realm="switchyard", charset="UTF-8"';

/**
 * Answers a broker client error (or the authenticator's {@link BrokerError}) in OPQ's style:
 * `<status>` and `<StatusName>: <message>` for input or a caller the broker refused, OPQ's own
 * `500 InternalServerError` for anything else (logged; the client sees no internals). A 401
 * carries `challenge` as `WWW-Authenticate`, and `Retry-After` (seconds) while the caller's
 * address is slowed down after failed logins.
 */
export function sendBrokerError(
  res: ServerResponse,
  e: unknown,
  logger: Logger,
  what: string,
  challenge: string = DEFAULT_CHALLENGE,
): void {
  const reason = reasonOfAny(e);
  const rendering = reason === undefined ? undefined : RENDERINGS[reason];
  if (!rendering) {
    logger.error(`opq: ${what} failed`, { reason, error: e });
    sendText(res, 500, "InternalServerError");
    return;
  }
  const message = e instanceof ConnectError ? e.rawMessage : e instanceof BrokerError ? e.message : String(e);
  const body = rendering.showMessage ? `${rendering.name}: ${message}` : rendering.name;
  const headers = { ...rendering.headers };
  if (reason === "UNAUTHENTICATED") {
    headers["WWW-Authenticate"] = challenge;
    const retryMs = Number(metadataOfAny(e).retry_after_ms);
    if (retryMs > 0) headers["Retry-After"] = String(Math.ceil(retryMs / 1000));
  }
  sendText(res, rendering.status, body, headers);
}
