import * as net from "node:net";

/** One HTTP/1.1 exchange as bytes, for byte-exact assertions. */
export interface RawResponse {
  /** The whole answer as latin-1 text, with the `Date` header line removed (it changes). */
  text: string;
  status: number;
  /** Header values by lowercased name (last one wins). */
  headers: Record<string, string>;
  /** The body as bytes (de-chunked when chunked). */
  body: Buffer;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  body?: string | Buffer;
  /** Extra header lines, e.g. `{"Content-Type": "application/x-www-form-urlencoded"}`. */
  headers?: Record<string, string>;
  /** Gives up after this long. Default 5 s. */
  timeoutMs?: number;
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = raw.indexOf("\r\n", i);
    if (eol < 0) break;
    const size = Number.parseInt(raw.subarray(i, eol).toString("latin1"), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** Parses a complete HTTP/1.1 answer. */
export function parseRawResponse(all: Buffer): RawResponse {
  // Interim answers (100 Continue) come before the real one.
  let raw = all;
  while (raw.subarray(0, 13).toString("latin1") === "HTTP/1.1 100 ") raw = raw.subarray(raw.indexOf("\r\n\r\n") + 4);
  const end = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, end < 0 ? raw.length : end).toString("latin1");
  const lines = head.split("\r\n");
  const status = Number((lines[0] ?? "").split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rawBody = end < 0 ? Buffer.alloc(0) : raw.subarray(end + 4);
  const body = headers["transfer-encoding"] === "chunked" ? dechunk(rawBody) : rawBody;
  const text = raw.toString("latin1").replace(/\r\nDate: [^\r]*/, "");
  return { text, status, headers, body };
}

/**
 * Sends one request with `Connection: close` over a fresh socket to `address` (`host:port`) and
 * reads the answer to the end. `target` is the request target as sent (`/q/x?callback=f`).
 */
export function rawRequest(
  address: string,
  method: string,
  target: string,
  options: RawRequestOptions = {},
): Promise<RawResponse> {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i);
  const port = Number(address.slice(i + 1));
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { Host: address, Connection: "close", ...options.headers };
  if (body !== undefined) headers["Content-Length"] = String(body.length);
  const head = `${method} ${target} HTTP/1.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${method} ${target} within ${options.timeoutMs ?? 5000} ms`));
    }, options.timeoutMs ?? 5000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (e) => {
      // A server may answer and close before it read the whole request (413): keep its answer.
      if (chunks.length > 0) return;
      clearTimeout(timer);
      reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseRawResponse(Buffer.concat(chunks)));
    });
    socket.write(Buffer.concat([Buffer.from(head, "latin1"), body ?? Buffer.alloc(0)]));
  });
}

/** A form body and its content type for {@link rawRequest}. */
export function form(body: string): RawRequestOptions {
  return { body, headers: { "Content-Type": "application/x-www-form-urlencoded" } };
}
