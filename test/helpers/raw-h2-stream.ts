import * as http2 from "node:http2";
import { plain } from "./raw-h2.js";

/** One envelope of a streamed response body: its flags and its bytes (hex, for readable diffs). */
export interface RawEnvelope {
  flags: number;
  data: string;
}

/** Everything an HTTP/2 client saw of a streamed response. */
export interface RawStreamResult {
  status: number;
  /** Response headers without `date` and `:status`. */
  headers: Record<string, string | string[]>;
  /** Whether a `date` header came. */
  hasDate: boolean;
  /** The body split into envelopes (gRPC / Connect streaming framing). */
  envelopes: RawEnvelope[];
  /** Bytes after the last complete envelope (0 for a well-formed body). */
  leftoverBytes: number;
  trailers: Record<string, string | string[]>;
  /** The RST_STREAM code the stream ended with (0: none, or the client's own cancel). */
  rstCode: number;
  /** What came, in order: `headers`, `envelope` per envelope, `trailers`. */
  order: string[];
}

/** A streamed call in progress on a raw HTTP/2 session. */
export interface RawStream {
  /** Resolves once `n` envelopes have arrived; rejects if the stream ends first or after `timeoutMs`. */
  envelopes(n: number, timeoutMs?: number): Promise<void>;
  /** Whether the response headers arrived. */
  headersArrived(): boolean;
  /** Resets the stream with CANCEL, as a client that stops reading does. */
  cancel(): void;
  /** Settles when the stream ended (or was cancelled), bounded by the `timeoutMs` of {@link openRawStream}. */
  done: Promise<RawStreamResult>;
}

/** Sends one streaming request (headers and a whole body) and records the response as it comes. */
export function openRawStream(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  timeoutMs = 10_000,
): RawStream {
  const req = session.request({ ":method": "POST", ...headers });
  const out: RawStreamResult = {
    status: 0,
    headers: {},
    hasDate: false,
    envelopes: [],
    leftoverBytes: 0,
    trailers: {},
    rstCode: 0,
    order: [],
  };
  let pending = Buffer.alloc(0);
  let cancelled = false;
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  req.on("response", (h) => {
    out.status = Number(h[":status"]);
    out.hasDate = h.date !== undefined;
    out.headers = plain(h, [":status", "date"]);
    out.order.push("headers");
  });
  req.on("trailers", (t) => {
    out.trailers = plain(t, []);
    out.order.push("trailers");
  });
  req.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      out.envelopes.push({ flags: pending[0] as number, data: pending.subarray(5, 5 + length).toString("hex") });
      out.order.push("envelope");
      pending = pending.subarray(5 + length);
    }
    wake();
  });
  req.on("error", () => {});
  const done = new Promise<RawStreamResult>((resolve) => {
    const timer = setTimeout(() => req.close(http2.constants.NGHTTP2_CANCEL), timeoutMs);
    const settle = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      out.leftoverBytes = pending.length;
      out.rstCode = cancelled ? 0 : (req.rstCode ?? 0);
      wake();
      resolve(out);
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    };
    req.on("end", settle);
    req.on("close", settle);
  });
  req.end(Buffer.from(body));
  return {
    envelopes(n, waitMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (out.envelopes.length >= n) finish();
          else if (ended) finish(new Error(`the stream ended after ${out.envelopes.length} of ${n} envelopes`));
        };
        const timer = setTimeout(() => finish(new Error(`${out.envelopes.length} of ${n} envelopes`)), waitMs);
        const finish = (e?: Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (e) reject(e);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
    headersArrived: () => out.order.includes("headers"),
    cancel() {
      cancelled = true;
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    },
    done,
  };
}
