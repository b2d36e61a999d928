import type { Config } from "../config/index.js";
import type { OnePortLimits } from "./one-port-listener.js";

/**
 * The bounds of an HTTP listener: its own connection cap, and the HTTP timeouts and HTTP/2
 * limits that every HTTP port shares (`--http-headers-timeout-ms`, `--http-request-timeout-ms`,
 * `--http2-idle-timeout-ms`, `--http2-max-concurrent-streams`, `--http2-max-session-memory-mb`).
 * The RPC port and each HTTP bridge (OPQ, RestMQ, GopherMQ and its metrics, ohpq-http) use it.
 */
export function httpLimits(config: Config, maxConnections: number): OnePortLimits {
  return {
    maxConnections,
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    http2IdleTimeoutMs: config.http2IdleTimeoutMs,
    http2MaxConcurrentStreams: config.http2MaxConcurrentStreams,
    http2MaxOpenStreams: config.http2MaxOpenStreams,
    http2MaxSessionMemoryMb: config.http2MaxSessionMemoryMb,
  };
}
