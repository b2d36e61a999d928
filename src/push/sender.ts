import * as http from "node:http";
import * as https from "node:https";
import type { PushRequest } from "./request.js";

/** What came back from a push endpoint. */
export interface PushResponse {
  status: number;
}

/** Options of one {@link PushSender.send}. */
export interface SendOptions {
  timeoutMs: number;
  /** Aborts the request (shutdown, subscription deleted). */
  signal: AbortSignal;
}

/**
 * Sends one push request. Resolves with the HTTP status of any response; rejects with an Error
 * whose message says what failed (network error, timeout) or, when `signal` aborted, with its reason.
 */
export interface PushSender {
  send(request: PushRequest, options: SendOptions): Promise<PushResponse>;
  /** Drops pooled connections (the agent calls it when it closes). */
  close?(): void;
}

/** Response bytes read (and thrown away) so a connection can be reused; past this it is closed. */
const MAX_DRAINED_RESPONSE_BYTES = 64 * 1024;

/** A readable description of a request failure: `CODE: message` for system errors. */
function describe(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  return typeof code === "string" ? `${code}: ${message}` : message;
}

/**
 * The real {@link PushSender}: Node's HTTP client with pooled keep-alive connections. It sends
 * exactly the request's headers (plus `Host`, `Content-Length` and `Connection`, which Node sets),
 * so an endpoint sees what a `form` push stored and nothing a browser-style client would add.
 * Redirects are not followed (a 3xx is the answer, so a redirect cannot lead past the host
 * allow-list). The response body is drained (up to 64 KiB and within the request's time limit, else
 * the connection is closed), never kept. Credentials in the URL become an `Authorization: Basic` header unless one is set.
 */
export function createHttpSender(): PushSender {
  const agents = {
    "http:": new http.Agent({ keepAlive: true }),
    "https:": new https.Agent({ keepAlive: true }),
  };
  return {
    send(request, { timeoutMs, signal }) {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<PushResponse>((resolve, reject) => {
        let settled = false;
        let req: http.ClientRequest | undefined;
        const finish = (error: unknown, response?: PushResponse) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          if (response) resolve(response);
          else {
            req?.destroy();
            reject(error);
          }
        };
        const onAbort = () => finish(signal.reason);
        const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        signal.addEventListener("abort", onAbort, { once: true });
        try {
          const url = new URL(request.url);
          const client = url.protocol === "https:" ? https : http;
          const agent = url.protocol === "https:" ? agents["https:"] : agents["http:"];
          req = client.request(
            url,
            {
              method: "POST",
              agent,
              headers: { ...request.headers, "Content-Length": String(request.body.length) },
            },
            (res) => {
              let drained = 0;
              // The body is drained within the same time limit, or the connection is dropped.
              const drainTimer = setTimeout(() => res.destroy(), timeoutMs);
              res.on("close", () => clearTimeout(drainTimer));
              res.on("data", (chunk: Buffer) => {
                drained += chunk.length;
                if (drained > MAX_DRAINED_RESPONSE_BYTES) res.destroy();
              });
              res.on("error", () => {});
              finish(undefined, { status: res.statusCode ?? 0 });
            },
          );
          req.on("error", (e) => finish(new Error(describe(e))));
          req.end(request.body);
        } catch (e) {
          finish(new Error(describe(e)));
        }
      });
    },
    close() {
      agents["http:"].destroy();
      agents["https:"].destroy();
    },
  };
}
