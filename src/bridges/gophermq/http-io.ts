import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import type { BodyHead } from "./bind.js";
import { type GoJsonValue, goJsonBody } from "./go-json.js";

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

function unescapeQuery(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Echo indents JSON when the query has a `pretty` key (any value; Go's query parsing, `;` parts skipped). */
export function wantsPretty(url: string): boolean {
  const q = url.indexOf("?");
  if (q < 0) return false;
  for (const part of url.slice(q + 1).split("&")) {
    if (part === "" || part.includes(";")) continue;
    const eq = part.indexOf("=");
    if (unescapeQuery(eq < 0 ? part : part.slice(0, eq)) === "pretty") return true;
  }
  return false;
}

/** The body framing Go would see: `Content-Length`, else 0 for a plain HTTP/1.1 request, else unknown (-1). */
export function bodyHead(req: GopherRequest): BodyHead {
  const contentType = String(req.headers["content-type"] ?? "");
  const declared = req.headers["content-length"];
  if (declared !== undefined && /^\d+$/.test(String(declared))) return { contentType, contentLength: Number(declared) };
  const chunked = req.headers["transfer-encoding"] !== undefined;
  return { contentType, contentLength: req.httpVersionMajor === 1 && !chunked ? 0 : -1 };
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
