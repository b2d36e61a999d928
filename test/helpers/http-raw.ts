import * as http from "node:http";

/** An HTTP answer with its raw body. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** Sent as is; a Content-Length is set unless `chunked`. */
  body?: string | Buffer;
  /** Send the body with chunked transfer encoding (no Content-Length). */
  chunked?: boolean;
  /** Abort after this many ms. Default 10 s. */
  timeoutMs?: number;
}

/**
 * One HTTP/1.1 request on its own connection (closed afterwards), with full control over the
 * method, headers and body framing, so a test sees exactly what the server sends.
 */
export function rawRequest(url: string, options: RawRequestOptions = {}): Promise<RawResponse> {
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { connection: "close", ...options.headers };
  if (body !== undefined && !options.chunked) headers["content-length"] = String(body.length);
  if (options.chunked) headers["transfer-encoding"] = "chunked";
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: options.method ?? "POST",
      headers,
      agent: false,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    req.on("error", reject);
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const data = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data, text: data.toString("utf8") });
      });
    });
    req.end(body);
  });
}

/** POSTs `value` as JSON (`Content-Type: application/json`). */
export function postJson(url: string, value: unknown): Promise<RawResponse> {
  return rawRequest(url, { headers: { "content-type": "application/json" }, body: JSON.stringify(value) });
}
