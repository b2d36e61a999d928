/**
 * The contract of the one-port listener (one-port-listener.ts): the handler types it serves
 * requests with, its bounds and their defaults (README "Limits and failure behaviour", "Every
 * listener"), its options, and the listener's own interface (listen, graceful close, counts).
 * The README's "Architecture" section describes how one port serves HTTP/1.1 and HTTP/2.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger, PeerByteBudgets } from "../util/index.js";
import type { ListenerSpec } from "./listen.js";
import type { TlsSource } from "./tls-source.js";

/** A request handler for both HTTP/1.1 and HTTP/2 requests (what connectNodeAdapter returns). */
export type NodeHandler = ReturnType<typeof connectNodeAdapter>;

/**
 * Serves an HTTP/2 stream straight from `node:http2` (the lean RPC path) and returns true, or
 * returns false, having touched nothing, to leave it to `handler`.
 */
export type Http2StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

/** Bounds of the one-port listener (README "Limits and failure behaviour"). */
export interface OnePortLimits {
  /** Most client connections at once; more are closed as they are accepted. Default 1000. */
  maxConnections: number;
  /** HTTP/1.1: time to receive a request's headers (Node's `headersTimeout`). Default 20 s. */
  headersTimeoutMs: number;
  /**
   * HTTP/1.1: time to receive a whole request (Node's `requestTimeout`). HTTP/2: time from a
   * stream's headers to the end of its request body (the stream is reset after it). Default 120 s.
   */
  requestTimeoutMs: number;
  /** HTTP/2: a session without streams and frames for this long is closed (GOAWAY). Default 5 min; 0: never. */
  http2IdleTimeoutMs: number;
  /** HTTP/2: streams a client may have open on one session (SETTINGS_MAX_CONCURRENT_STREAMS). Default 100. */
  http2MaxConcurrentStreams: number;
  /** HTTP/2: streams open at once across all sessions; past it new ones are refused (REFUSED_STREAM). Default 10,000. */
  http2MaxOpenStreams: number;
  /** HTTP/2: per-session buffer limit in MiB (Node's `maxSessionMemory`). Default 32. */
  http2MaxSessionMemoryMb: number;
}

/** The defaults of {@link OnePortLimits}. */
export const DEFAULT_ONE_PORT_LIMITS: Readonly<OnePortLimits> = Object.freeze({
  maxConnections: 1000,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 120_000,
  http2IdleTimeoutMs: 300_000,
  http2MaxConcurrentStreams: 100,
  http2MaxOpenStreams: 10_000,
  http2MaxSessionMemoryMb: 32,
});

/**
 * HTTP/2: bytes a client may send on one stream before the server acknowledges them
 * (SETTINGS_INITIAL_WINDOW_SIZE; Node's default is 64 KiB). 256 KiB lets a batched Publish of
 * about 90 KiB go in one flight instead of waiting for a WINDOW_UPDATE round trip between two
 * busy event loops (BENCHMARKS.md, "W1 batched: the round trip of the window").
 */
export const HTTP2_STREAM_WINDOW_BYTES = 256 * 1024;
/**
 * HTTP/2: bytes a client may send on one connection, all streams together, before the server
 * acknowledges them (Node's default is 64 KiB): room for several such requests in flight. Bytes
 * the server has not read stay bounded by it per connection; the request budget and the read
 * limit still bound what the server takes in.
 */
export const HTTP2_CONNECTION_WINDOW_BYTES = 1024 * 1024;

/** Options of {@link createOnePortListener}. */
export interface OnePortListenerOptions {
  handler: NodeHandler;
  logger: Logger;
  /** Serves HTTP/2 streams before `handler` sees them (the lean RPC path); see {@link Http2StreamHandler}. */
  http2Streams?: Http2StreamHandler;
  /**
   * Called for each HTTP/2 stream the client reset (RST_STREAM), or lost with its connection,
   * before its response ended, with the stream's HTTP/2 error code (http2-streams.ts).
   */
  http2StreamReset?: (code: number) => void;
  /** Bounds; each missing one takes its default from {@link DEFAULT_ONE_PORT_LIMITS}. */
  limits?: Partial<OnePortLimits>;
  /**
   * Bound on request body bytes being read at once across all connections, and each client's
   * share of it, for requests that reach `handler` (the lean path counts its own against the same
   * budget). Undefined: none.
   */
  requestBudget?: PeerByteBudgets;
  /** The error a request's body read fails with when the budget is used up. */
  overBudget?: () => Error;
  /**
   * Checks a POST request's credentials from its headers before any of its body is read:
   * undefined when the request needs none, else a promise whose rejection fails the body read
   * (the handler renders it as the call's error). Bodies of clients without credentials then
   * never hold request bytes.
   */
  bodyGate?: (req: http.IncomingMessage | http2.Http2ServerRequest) => Promise<void> | undefined;
  /** How long a new connection may stay silent before its protocol is known. Default 10 s. */
  firstBytesTimeoutMs?: number;
  /** HTTP/1.1: how often Node checks the header and request timeouts. Default 1 s (tests use less). */
  timeoutCheckIntervalMs?: number;
  /**
   * HTTP/1.1 upgrade requests (websockets). The socket then belongs to the callee: it is not
   * closed by `stopAccepting` (close it on the shutdown signal, e.g. websocket code 1001), only
   * by `destroy`. Without this option upgrade requests are answered like any other request.
   */
  onUpgrade?: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  /**
   * Answers the requests that arrive once closing has begun (on connections already open), in the
   * dialect of the port (HTTP/1.1 ones carry `Connection: close` already). Default: 503 with the
   * text `shutting down\n`.
   */
  closingHandler?: NodeHandler;
  /**
   * Serve TLS instead of cleartext: ALPN picks HTTP/2 (`h2`) or HTTP/1.1 (`http/1.1`, or no
   * ALPN). The certificate follows the source's reloads.
   */
  tls?: TlsSource;
}

/**
 * One TCP port for every HTTP client: cleartext HTTP/2 (gRPC, Connect over h2c) and HTTP/1.1
 * (Connect, gRPC-web, plain HTTP endpoints, websocket upgrades). Node ignores `allowHTTP1` without
 * TLS, so a `net.Server` peeks at the first bytes of each connection: the HTTP/2 client preface
 * (RFC 9113 §3.4) goes to an `http2` server, anything else to an `http` server. With TLS, a
 * `tls.Server` terminates it and ALPN (RFC 7301; RFC 9113 §3.2) picks the server instead.
 */
export interface OnePortListener {
  /** Binds and resolves with the bound address; throws `ListenError` (port in use, …). */
  listen(spec: ListenerSpec, signal?: AbortSignal): Promise<net.AddressInfo>;
  /**
   * Stops accepting connections. From then on requests get 503 (or the `closingHandler`'s answer;
   * with `Connection: close` on HTTP/1.1), HTTP/2 sessions get GOAWAY, and idle HTTP/1.1
   * connections are closed.
   */
  stopAccepting(): void;
  /** Resolves true once no request is in flight, or false after `timeoutMs` or when `signal` aborts. */
  drain(timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** Stops listening, destroys every open connection, and resolves once all are gone (bounded by `timeoutMs`, default 5 s). */
  destroy(timeoutMs?: number): Promise<void>;
  /** Open client connections (any protocol, including ones whose protocol is not known yet). */
  connections(): number;
  /** Requests in flight (unary calls, streams, plain HTTP requests). */
  inFlight(): number;
}
