/**
 * How the GopherMQ endpoints answer what is not their own success (docs/gophermq.md "Request
 * bodies", "Endpoints", "Users"): a body that is too large or does not bind, and a broker failure
 * turned into the status GopherMQ's clients expect. Each returns the status it sent, for the
 * bridge's metrics.
 *
 * @module
 */
import { metadataOfAny, reasonOfAny } from "../bridge.js";
import { type BoundFields, bindBody } from "./bind.js";
import type { EndpointDeps } from "./endpoint-deps.js";
import {
  bodyHead,
  type GopherRequest,
  type GopherResponse,
  readBody,
  sendJson,
  sendMessage,
  sendUnauthorized,
} from "./http-io.js";

const INVALID_BODY = "request's body is invalid";

/** The shared answers of the endpoints; each sends the response and returns its status. */
export interface EndpointAnswers {
  /** Reads and binds the body; answers 400/413 itself and returns `{ status }` on failure. */
  bind<F extends string>(
    req: GopherRequest,
    res: GopherResponse,
    fields: readonly F[],
  ): Promise<BoundFields<F> | { status: number }>;
  /** Answers a broker failure of `what` (`publish`, `subscribe`, `fetch`); an unexpected one is logged and gets 500. */
  failed(req: GopherRequest, res: GopherResponse, what: string, error: unknown): number;
  /** Answers `{"message": message}` with `status`. */
  send(req: GopherRequest, res: GopherResponse, status: number, message: string): number;
}

/** Creates the answers of one bridge. */
export function createEndpointAnswers(
  deps: Pick<EndpointDeps, "logger" | "challenge" | "maxBodyBytes">,
): EndpointAnswers {
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

  return { bind, failed, send };
}
