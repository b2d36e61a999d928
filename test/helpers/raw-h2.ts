import * as http2 from "node:http2";

/** Everything an HTTP/2 client sees of one response, as sent on the wire. */
export interface RawResponse {
  status: number;
  /** Response headers without `date` (its value changes by the second) and without `:status`. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Trailers, or an empty object when the response had none. */
  trailers: Record<string, string | string[]>;
  /** The RST_STREAM code when the server reset the stream before the response ended; 0 otherwise. */
  rstCode: number;
  /** Whether a `date` header came (connect-node's Node compatibility layer always sends one). */
  hasDate: boolean;
}

/** Opens an h2c session to `baseUrl` and waits until it is connected. */
export async function openSession(baseUrl: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(baseUrl);
  session.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  return session;
}

/** One request on `session`: headers (`:path`, `content-type`, …) and a body; bounded by `timeoutMs`. */
export function rawRequest(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ":method": "POST", ...headers });
    const out: RawResponse = {
      status: 0,
      headers: {},
      body: Buffer.alloc(0),
      trailers: {},
      rstCode: 0,
      hasDate: false,
    };
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no response in ${timeoutMs} ms for ${String(headers[":path"])}`));
    }, timeoutMs);
    req.on("response", (h) => {
      out.status = Number(h[":status"]);
      out.hasDate = h.date !== undefined;
      out.headers = plain(h, [":status", "date"]);
    });
    req.on("trailers", (t) => {
      out.trailers = plain(t, []);
    });
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      out.body = Buffer.concat(chunks);
      out.rstCode = req.rstCode ?? 0;
      resolve(out);
      // A server may answer before it read the whole body; what the client still sends is moot.
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    };
    // The response is complete at its end (trailers come before 'end'); a reset ends it at 'close'.
    req.on("end", settle);
    req.on("close", settle);
    req.end(Buffer.from(body));
  });
}

/** A header block as a plain object, without the `skip` names (and without absent values). */
export function plain(h: http2.IncomingHttpHeaders, skip: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !skip.includes(k)) out[k] = v as string | string[];
  return out;
}

/** A gRPC length-prefixed message: flags byte, big-endian length, bytes. */
export function grpcEnvelope(message: Uint8Array, flags = 0, length = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flags;
  out.writeUInt32BE(length, 1);
  out.set(message, 5);
  return out;
}
