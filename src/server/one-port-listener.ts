import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type * as tls from "node:tls";
import type { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger, PeerByteBudgets } from "../util/index.js";
import { destroyWhenHalfClosed } from "./half-closed.js";
import { watchHttp2Idle } from "./http2-idle.js";
import { routeHttp2Streams } from "./http2-streams.js";
import { type ListenerSpec, listenOn } from "./listen.js";
import { countRequestBody } from "./request-budget.js";
import { createTlsAcceptor } from "./tls-accept.js";
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

/** Options of {@link createOnePortListener}. */
export interface OnePortListenerOptions {
  handler: NodeHandler;
  logger: Logger;
  /** Serves HTTP/2 streams before `handler` sees them (the lean RPC path); see {@link Http2StreamHandler}. */
  http2Streams?: Http2StreamHandler;
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

/** How a failed HTTP/1.1 request is answered, by Node's error code (400 otherwise). */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
};

function ignore(): void {}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Creates a {@link OnePortListener}. */
export function createOnePortListener(options: OnePortListenerOptions): OnePortListener {
  const limits: OnePortLimits = { ...DEFAULT_ONE_PORT_LIMITS, ...options.limits };
  const { requestBudget, overBudget } = options;
  const sockets = new Set<net.Socket>();
  /** Every TCP connection, including TLS ones still in their handshake. */
  const raw = new Set<net.Socket>();
  const h1Pending = new Map<net.Socket, number>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const h2Sockets = new Set<net.Socket>();
  const upgraded = new Set<net.Socket>();
  const drainWaiters = new Set<() => void>();
  let requests = 0;
  let closing = false;

  const handle: NodeHandler = (req, res) => {
    const h1Socket = req.httpVersionMajor === 1 ? (req.socket as net.Socket) : undefined;
    requests++;
    if (h1Socket) h1Pending.set(h1Socket, (h1Pending.get(h1Socket) ?? 0) + 1);
    res.once("close", () => {
      requests--;
      if (h1Socket) {
        const left = (h1Pending.get(h1Socket) ?? 1) - 1;
        if (left > 0) h1Pending.set(h1Socket, left);
        else h1Pending.delete(h1Socket);
        // While closing, an HTTP/1.1 connection goes once its last response is out.
        if (closing && left <= 0) h1Socket.end();
      }
      if (requests === 0) for (const wake of drainWaiters) wake();
    });
    if (closing) {
      if (h1Socket) res.setHeader("connection", "close");
      if (options.closingHandler) {
        options.closingHandler(req, res);
        return;
      }
      res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
      res.end("shutting down\n");
      return;
    }
    if (requestBudget && overBudget) {
      const gate = req.method === "POST" ? options.bodyGate?.(req) : undefined;
      // Awaited when the body is read; a handler that never reads it must not leave it unhandled.
      gate?.catch(ignore);
      countRequestBody(req, res, requestBudget.forPeer(req.socket.remoteAddress), overBudget, gate);
    }
    options.handler(req, res);
  };

  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: options.timeoutCheckIntervalMs ?? 1_000,
    },
    handle as http.RequestListener,
  );
  // Node checks headersTimeout/requestTimeout only for servers that listen themselves (the check
  // timer starts on 'listening'); this one gets its sockets from the net.Server below.
  h1.emit("listening");
  const { onUpgrade } = options;
  if (onUpgrade) {
    h1.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (closing) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
      }
      upgraded.add(req.socket as net.Socket);
      onUpgrade(req, socket, head);
    });
  }
  const h2 = http2.createServer(
    {
      maxSessionMemory: limits.http2MaxSessionMemoryMb,
      settings: { maxConcurrentStreams: limits.http2MaxConcurrentStreams },
    },
    handle as never,
  );
  routeHttp2Streams(h2, {
    idle: watchHttp2Idle(h2, {
      idleTimeoutMs: limits.http2IdleTimeoutMs,
      pingTimeoutMs: Math.min(20_000, limits.http2IdleTimeoutMs),
    }),
    logger: options.logger,
    ...(options.http2Streams ? { claim: options.http2Streams } : {}),
    isClosing: () => closing,
    bodyTimeoutMs: limits.requestTimeoutMs,
    maxOpenStreams: limits.http2MaxOpenStreams,
    claimed: () => {
      requests++;
    },
    claimedClosed: () => {
      requests--;
      if (requests === 0) for (const wake of drainWaiters) wake();
    },
  });
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  for (const s of [h1, h2]) {
    s.on("clientError", (e: Error & { code?: string }, socket: net.Socket) => {
      if (!socket.writable || socket.destroyed) {
        socket.destroy(e);
        return;
      }
      const status = CLIENT_ERROR_STATUS[e.code ?? ""] ?? "400 Bad Request";
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
    });
  }
  h2.on("sessionError", (e: Error) => options.logger.warn("http2 session error", { error: e.message }));

  const firstBytesTimeoutMs = options.firstBytesTimeoutMs ?? 10_000;
  const track = (socket: net.Socket): boolean => {
    sockets.add(socket);
    destroyWhenHalfClosed(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      h1Pending.delete(socket);
      h2Sockets.delete(socket);
      upgraded.delete(socket);
    });
    if (closing) socket.destroy();
    return !closing;
  };

  /** Cleartext: the first bytes tell HTTP/2 (its preface) from HTTP/1.1. */
  const onPlainSocket = (socket: net.Socket) => {
    if (!track(socket)) return;
    const chunks: Buffer[] = [];
    let length = 0;
    const onError = () => socket.destroy();
    const onTimeout = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      length += chunk.length;
      const head = Buffer.concat(chunks, length);
      const n = Math.min(head.length, PREFACE.length);
      const isH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (isH2 && head.length < PREFACE.length) return; // a prefix of the preface: wait for more
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("timeout", onTimeout);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        h2Sockets.add(socket);
        h2.emit("connection", socket); // http2 reads the unshifted bytes itself
      } else {
        h1.emit("connection", socket);
        socket.resume(); // the http parser takes the unshifted bytes through 'data'
      }
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.setTimeout(firstBytesTimeoutMs, onTimeout);
  };

  /** TLS: the handshake is done and ALPN has chosen the protocol. */
  const onTlsSocket = (socket: tls.TLSSocket) => {
    if (!track(socket)) return;
    if (socket.alpnProtocol === "h2") {
      h2Sockets.add(socket);
      h2.emit("connection", socket);
    } else {
      h1.emit("connection", socket);
    }
  };

  const acceptor = options.tls
    ? createTlsAcceptor(options.tls, { alpnProtocols: ["h2", "http/1.1"], handshakeTimeoutMs: firstBytesTimeoutMs })
    : undefined;
  const handshaking = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    raw.add(socket);
    socket.once("close", () => {
      raw.delete(socket);
      handshaking.delete(socket);
    });
    if (closing) {
      socket.destroy();
      return;
    }
    if (!acceptor) {
      onPlainSocket(socket);
      return;
    }
    handshaking.add(socket);
    acceptor.accept(socket, (secure) => {
      handshaking.delete(socket);
      onTlsSocket(secure);
    });
  });
  // Past the cap, Node closes new connections as it accepts them.
  server.maxConnections = limits.maxConnections;
  // Accept errors (EMFILE, ENFILE) are survived and logged by listenOn, as for every listener.

  return {
    listen: (spec, signal) =>
      listenOn(server, spec, signal ? { signal, logger: options.logger } : { logger: options.logger }),
    stopAccepting() {
      if (closing) return;
      closing = true;
      if (server.listening) server.close();
      acceptor?.close();
      for (const session of sessions) session.close();
      for (const socket of sockets) {
        // Idle HTTP/1.1 keep-alive connections (and ones still unidentified) go now.
        if (!h1Pending.has(socket) && !h2Sockets.has(socket) && !upgraded.has(socket)) socket.destroy();
      }
      for (const socket of handshaking) socket.destroy();
    },
    drain(timeoutMs, signal) {
      if (requests === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const finish = (drained: boolean) => {
          clearTimeout(timer);
          drainWaiters.delete(wake);
          signal?.removeEventListener("abort", onAbort);
          resolve(drained);
        };
        const wake = () => finish(true);
        const onAbort = () => finish(false);
        const timer = setTimeout(() => finish(false), timeoutMs);
        drainWaiters.add(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    async destroy(timeoutMs = 5_000) {
      closing = true;
      if (server.listening) server.close();
      h1.close(); // stops the timeout check timer started above
      for (const session of sessions) session.destroy();
      for (const socket of sockets) socket.destroy();
      for (const socket of raw) socket.destroy();
      if (sockets.size === 0 && raw.size === 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        const check = () => {
          if (sockets.size > 0 || raw.size > 0) return;
          clearTimeout(timer);
          resolve();
        };
        for (const socket of [...sockets, ...raw]) socket.once("close", () => setImmediate(check));
        check();
      });
    },
    // Each connection (TLS or not, identified or not) has one TCP socket.
    connections: () => raw.size,
    inFlight: () => requests,
  };
}
