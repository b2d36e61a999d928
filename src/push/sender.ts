import { linkSignals } from "../util/index.js";
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
}

/** A readable description of a fetch failure: undici hides the system error in `cause`. */
function describe(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ""}`;
  if (cause?.message) return cause.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * The real {@link PushSender}: Node's fetch (undici, pooled keep-alive connections), redirects
 * not followed (a 3xx is the answer, so a redirect cannot lead past the host allow-list), the
 * response body never read (cancelled as soon as the status is in).
 */
export function createFetchSender(): PushSender {
  return {
    async send(request, { timeoutMs, signal }) {
      if (signal.aborted) throw signal.reason;
      const timeout = AbortSignal.timeout(timeoutMs);
      const link = linkSignals(signal, timeout);
      try {
        const res = await fetch(request.url, {
          method: "POST",
          headers: request.headers,
          body: request.body,
          redirect: "manual",
          signal: link.signal,
        });
        await res.body?.cancel().catch(() => {});
        return { status: res.status };
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (timeout.aborted) throw new Error(`timed out after ${timeoutMs} ms`);
        throw new Error(describe(e));
      } finally {
        link.dispose();
      }
    },
  };
}
