import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { BodyHead } from "./bind.js";
import { type GoJsonValue, goJsonBody } from "./go-json.js";
import { goQueryHasKey } from "./go-query.js";

/** An HTTP/1.1 or HTTP/2 (h2c) request, as the one-port listener hands them over. */
export type GopherRequest = IncomingMessage | Http2ServerRequest;
/** Its response. */
export type GopherResponse = ServerResponse | Http2ServerResponse;

/** The Content-Type of every JSON answer (Echo's `MIMEApplicationJSONCharsetUTF8`). */
export const JSON_TYPE = "application/json; charset=UTF-8";

/** The path Echo routes on: the raw (still escaped) path, without query; absolute-form targets reduced to it. */
export function routePath(url: string): string {
  let target = url;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?]*/.exec(target);
  if (scheme) target = target.slice(scheme[0].length) || "/";
  const q = target.indexOf("?");
  return q < 0 ? target : target.slice(0, q);
}

/**
 * Echo indents JSON when the query has a `pretty` key (any value): Go's `URL.Query()`, which
 * drops pairs whose key or value does not unescape and those with `;`.
 */
export function wantsPretty(url: string): boolean {
  const q = url.indexOf("?");
  if (q < 0) return false;
  return goQueryHasKey(url.slice(q + 1), "pretty");
}

/** The body framing Go would see: `Content-Length`, else 0 for a plain HTTP/1.1 request, else unknown (-1). */
export function bodyHead(req: GopherRequest): BodyHead {
  const contentType = String(req.headers["content-type"] ?? "");
  const url = req.url ?? "";
  const q = url.indexOf("?");
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  const declared = req.headers["content-length"];
  if (declared !== undefined && /^\d+$/.test(String(declared)))
    return { contentType, contentLength: Number(declared), rawQuery };
  const chunked = req.headers["transfer-encoding"] !== undefined;
  return { contentType, contentLength: req.httpVersionMajor === 1 && !chunked ? 0 : -1, rawQuery };
}

/** The request body, or `too-large` as soon as it passes `maxBytes` (the rest is not read). */
export async function readBody(req: GopherRequest, maxBytes: number): Promise<Buffer | "too-large"> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) return "too-large";
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}

/** Sends Echo's JSON answer: Go's encoding, one trailing newline; for HEAD, the status alone. */
export function sendJson(
  req: GopherRequest,
  res: GopherResponse,
  status: number,
  value: GoJsonValue,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.writableEnded) return;
  if (req.method === "HEAD") {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const body = goJsonBody(value, wantsPretty(req.url ?? ""));
  res.writeHead(status, { "content-type": JSON_TYPE, "content-length": String(body.length), ...headers });
  res.end(body);
}

/** Sends a status with no body (Echo's `c.NoContent`). */
export function sendNoContent(res: GopherResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  res.writeHead(status, headers);
  res.end();
}

/** Sends `{"message": text}`, Echo's error body. */
export function sendMessage(req: GopherRequest, res: GopherResponse, status: number, text: string): void {
  sendJson(req, res, status, { message: text });
}

/**
 * Echo's answer for missing or refused credentials (its BasicAuth middleware's `{"message":
 * "Unauthorized"}`), with `challenge` as `WWW-Authenticate`, `Retry-After` (seconds) when
 * `retryAfterMs` is set (the address is slowed down after failed logins), and `Connection: close`
 * on HTTP/1.1 when the body was left unread.
 */
export function sendUnauthorized(
  req: GopherRequest,
  res: GopherResponse,
  challenge: string,
  retryAfterMs: number,
  bodyUnread: boolean,
): void {
  const headers: Record<string, string> = { "www-authenticate": challenge };
  if (retryAfterMs > 0) headers["retry-after"] = String(Math.ceil(retryAfterMs / 1000));
  if (bodyUnread && req.httpVersionMajor === 1) headers.connection = "close";
  sendJson(req, res, 401, { message: "Unauthorized" }, headers);
}
