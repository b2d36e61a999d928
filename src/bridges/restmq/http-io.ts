import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/** A request on the RestMQ port (HTTP/1.1, or HTTP/2 when a client speaks h2c). */
export type Request = IncomingMessage | Http2ServerRequest;
/** Its response. */
export type Response = ServerResponse | Http2ServerResponse;

/** cyclone's default content type: every text answer, JSON included, unless a handler set another. */
export const HTML = "text/html; charset=UTF-8";
/** Set by the handlers that finish with a dict (`/queue`) or set it themselves (`/stats`, `GET /control`). */
export const JSON_TYPE = "application/json";
/** The comet stream's type (no charset, as RestMQ set it). */
export const PLAIN = "text/plain";
/**
 * The `Server` header: RestMQ answered `cyclone/<version>`; the comment says who really answers
 * (docs/restmq.md "Wire details").
 */
export const SERVER = "cyclone/1.0 (Switchyard RestMQ bridge)";

/** Python 2's `httplib.responses` for the statuses the bridge sends (cyclone's error pages use them). */
const PHRASES: Readonly<Record<number, string>> = {
  200: "OK",
  204: "No Content",
  302: "Found",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Request Entity Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

/** The reason phrase of a status. */
export function phrase(status: number): string {
  return PHRASES[status] ?? "Unknown";
}

/**
 * An answer other than success, raised by a handler and rendered at the edge as cyclone's HTML
 * error page (`<html><title>400: Bad Request</title><body>400: Bad Request</body></html>`).
 */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message = phrase(status),
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** cyclone's error page for `status`. */
export function errorPage(status: number): string {
  const text = `${status}: ${phrase(status)}`;
  return `<html><title>${text}</title><body>${text}</body></html>`;
}

/**
 * Sends a whole answer: `Content-Type`, `Content-Length` and, for a 200 to a GET, cyclone's
 * `Etag` (the quoted SHA-1 of the body). The bridge never answers 304: RestMQ's GETs take
 * elements off the queue, and a client must never lose one to a cache validator.
 */
export function send(
  req: Request,
  res: Response,
  status: number,
  body: string | Buffer,
  contentType = HTML,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
  // Header names as cyclone wrote them (the case carries no meaning in HTTP).
  const out: Record<string, string | number> = {
    Server: SERVER,
    "Content-Type": contentType,
    ...headers,
  };
  if (status === 200 && req.method === "GET") out.Etag = `"${createHash("sha1").update(bytes).digest("hex")}"`;
  if (status === 204) {
    res.writeHead(status, out);
    res.end();
    return;
  }
  out["Content-Length"] = bytes.length;
  res.writeHead(status, out);
  if (req.method === "HEAD") res.end();
  else res.end(bytes);
}

/** Sends cyclone's error page for an {@link HttpError} (204 goes out without its page). */
export function sendError(req: Request, res: Response, error: HttpError): void {
  send(req, res, error.status, error.status === 204 ? "" : errorPage(error.status), HTML, error.headers);
}

/** cyclone's `redirect(url)`: 302 with the location and an empty body. */
export function redirect(req: Request, res: Response, location: string): void {
  send(req, res, 302, "", HTML, { Location: location });
}

/** A JSONP callback name a page may safely run: identifiers joined by dots. */
const CALLBACK = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$/;

/**
 * Checks a `callback` argument. RestMQ wrote any callback text into a text/html answer as is;
 * the bridge takes JavaScript names only (up to 256 characters) and answers 400 otherwise, so
 * no request can make it reflect markup (docs/restmq.md, deliberate differences).
 */
export function checkCallback(callback: string | undefined): string | undefined {
  if (callback === undefined) return undefined;
  if (callback.length > 256 || !CALLBACK.test(callback)) throw new HttpError(400, "invalid JSONP callback");
  return callback;
}

/**
 * Reads a request body of at most `maxBytes`. Beyond it: 413, and an HTTP/1.1 connection is
 * closed after the answer (the rest of the body is never read).
 */
export async function readBody(req: Request, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new HttpError(413, "request body too large", req.httpVersionMajor === 1 ? { Connection: "close" } : {});
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}
