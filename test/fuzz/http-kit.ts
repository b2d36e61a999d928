/**
 * HTTP/1.1 requests as raw bytes to a request handler, without sockets: Node's own HTTP server
 * (its parser, its IncomingMessage and ServerResponse) on an in-memory duplex pair, as the
 * one-port listener hands it connections. For fuzzing the HTTP bridges.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type * as net from "node:net";
import { duplexPair } from "node:stream";
import fc from "fast-check";

/** A parsed response, or how the connection ended without one. */
export type RawResponse =
  | { status: number; headers: Map<string, string>; body: Buffer }
  | { closed: true; bytes: Buffer };

/** A handler behind Node's HTTP server, fed raw requests. */
export interface InMemoryHttp {
  /**
   * Sends `raw` (then ends the client's side, as a client that sent everything does) and
   * resolves with the first response; rejects when none comes within `timeoutMs`.
   */
  send(raw: Buffer, timeoutMs?: number): Promise<RawResponse>;
}

/** Wraps `handler` as the one-port listener's HTTP/1.1 server does (400 for a request Node cannot parse). */
export function createInMemoryHttp(handler: http.RequestListener): InMemoryHttp {
  const server = http.createServer(handler);
  // The fuzzer's client sends its bytes and then ends its side: the response must still come
  // (by default Node drops a request whose client half-closes).
  (server as http.Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.on("clientError", (_e: Error, socket: net.Socket) => {
    if (socket.writable && !socket.destroyed) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    else socket.destroy();
  });
  return {
    send(raw, timeoutMs = 5_000) {
      const [client, serverSide] = duplexPair();
      // As with TCP: a destroyed side closes the other.
      client.once("close", () => serverSide.destroy());
      serverSide.once("close", () => client.destroy());
      server.emit("connection", serverSide);
      let bytes = Buffer.alloc(0);
      const head = raw.subarray(0, 5).toString("latin1") === "HEAD ";
      return new Promise<RawResponse>((resolve, reject) => {
        const finish = (r: RawResponse | Error) => {
          clearTimeout(timer);
          client.destroy();
          if (r instanceof Error) reject(r);
          else resolve(r);
        };
        const timer = setTimeout(
          () =>
            finish(
              new Error(
                `no response within ${timeoutMs} ms; got ${JSON.stringify(bytes.toString("latin1").slice(0, 200))}`,
              ),
            ),
          timeoutMs,
        );
        const check = (ended: boolean) => {
          const r = parseResponse(bytes, ended, head);
          if (r) finish(r);
          else if (ended) finish({ closed: true, bytes });
        };
        client.on("data", (d: Buffer) => {
          bytes = Buffer.concat([bytes, d]);
          check(false);
        });
        client.on("end", () => check(true));
        client.on("close", () => check(true));
        client.on("error", () => {});
        client.end(raw);
      });
    },
  };
}

/** The first complete response in `bytes` (by Content-Length, chunked coding, or the end), if any. */
function parseResponse(bytes: Buffer, ended: boolean, head: boolean): RawResponse | undefined {
  const headEnd = bytes.indexOf("\r\n\r\n");
  if (headEnd === -1) return undefined;
  const lines = bytes.toString("latin1", 0, headEnd).split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "");
  if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  const status = Number(m[1]);
  const rest = bytes.subarray(headEnd + 4);
  // An interim answer (100 Continue) comes before the response.
  if (status >= 100 && status < 200) return parseResponse(rest, ended, head);
  const length = headers.get("content-length");
  if (status === 204 || status === 304 || head) return { status, headers, body: Buffer.alloc(0) };
  if (length !== undefined) {
    const n = Number(length);
    return rest.length >= n ? { status, headers, body: rest.subarray(0, n) } : undefined;
  }
  if (headers.get("transfer-encoding")?.toLowerCase() === "chunked") {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = rest.indexOf("\r\n", at);
      if (eol === -1) return undefined;
      const size = Number.parseInt(rest.toString("latin1", at, eol), 16);
      if (Number.isNaN(size)) throw new Error("a bad chunk size in the response");
      if (size === 0) return { status, headers, body: Buffer.concat(parts) };
      if (rest.length < eol + 2 + size + 2) return undefined;
      parts.push(rest.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
  }
  return ended ? { status, headers, body: rest } : undefined;
}

/** One form or query field: a name and a value, each from a pool or random. */
export function formFields(names: readonly string[], values: fc.Arbitrary<string>): fc.Arbitrary<[string, string][]> {
  const name = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...names) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  return fc.array(fc.tuple(name, values), { maxLength: 6 });
}

/** `application/x-www-form-urlencoded` (sometimes with raw, unescaped bytes). */
export function urlEncoded(fields: [string, string][], raw: boolean): string {
  return fields.map(([k, v]) => (raw ? `${k}=${v}` : `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)).join("&");
}

/** A `multipart/form-data` body with `boundary` (fields as parts; some as files). */
export function multipart(fields: [string, string][], boundary: string, asFiles: boolean): Buffer {
  const parts = fields.map(
    ([k, v], i) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${k}"${asFiles && i % 2 === 1 ? `; filename="f${i}.txt"` : ""}\r\n\r\n${v}\r\n`,
  );
  return Buffer.from(`${parts.join("")}--${boundary}--\r\n`, "latin1");
}

/** How a raw request's body is framed: the true length, a wrong one, none, or chunked coding. */
export type Framing = "length" | "short" | "long" | "none" | "chunked";

/** Framings, the true length three times as often as each wrong one. */
export const framings: fc.Arbitrary<Framing> = fc.constantFrom<Framing>(
  "length",
  "length",
  "length",
  "chunked",
  "short",
  "long",
  "none",
);

/** Sends `raw` and fails the case when the connection ended without a response. */
export async function sendExpectingResponse(
  http: InMemoryHttp,
  raw: Buffer,
): Promise<{ status: number; headers: Map<string, string>; body: Buffer }> {
  const res = await http.send(raw);
  if ("closed" in res) assert.fail(`no response: ${JSON.stringify(res.bytes.toString("latin1").slice(0, 200))}`);
  return res;
}

/** A raw HTTP/1.1 request, its body framed as `framing` says. */
export function rawRequest(
  method: string,
  target: string,
  headers: readonly [string, string][],
  body: Buffer,
  framing: Framing,
): Buffer {
  const head = [`${method} ${target} HTTP/1.1`, "Host: fuzz", ...headers.map(([k, v]) => `${k}: ${v}`)];
  let payload = body;
  if (framing === "length") head.push(`Content-Length: ${body.length}`);
  else if (framing === "short") head.push(`Content-Length: ${Math.max(0, body.length - 3)}`);
  else if (framing === "long") head.push(`Content-Length: ${body.length + 5}`);
  else if (framing === "chunked") {
    head.push("Transfer-Encoding: chunked");
    payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
  }
  return Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), payload]);
}
