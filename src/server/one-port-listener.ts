/**
 * The one-port listener: one TCP port for every HTTP client, cleartext or TLS, HTTP/1.1 or
 * HTTP/2 (README "Architecture"). This module wires the servers together and owns the
 * connection bookkeeping behind graceful close (stop accepting, drain, destroy; README "Every
 * listener"). Its contract (options, bounds, the listener interface) is in one-port-options.ts,
 * telling cleartext HTTP/2 from HTTP/1.1 is in http2-preface.ts, and HTTP/2 streams are routed by
 * http2-streams.ts.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type * as tls from "node:tls";
import { destroyWhenHalfClosed } from "./half-closed.js";
import { watchHttp2Idle } from "./http2-idle.js";
import { detectHttp2Preface } from "./http2-preface.js";
import { routeHttp2Streams } from "./http2-streams.js";
import { listenOn } from "./listen.js";
import {
  DEFAULT_ONE_PORT_LIMITS,
  HTTP2_CONNECTION_WINDOW_BYTES,
  HTTP2_STREAM_WINDOW_BYTES,
  type NodeHandler,
  type OnePortLimits,
  type OnePortListener,
  type OnePortListenerOptions,
} from "./one-port-options.js";
import { rateLimitedDebug } from "./rate-limited-debug.js";
import { countRequestBody } from "./request-budget.js";
import { markServerEnded } from "./server-ended.js";
import { createTlsAcceptor } from "./tls-accept.js";

export {
  DEFAULT_ONE_PORT_LIMITS,
  HTTP2_CONNECTION_WINDOW_BYTES,
  HTTP2_STREAM_WINDOW_BYTES,
  type Http2StreamHandler,
  type NodeHandler,
  type OnePortLimits,
  type OnePortListener,
  type OnePortListenerOptions,
} from "./one-port-options.js";

/** How a failed HTTP/1.1 request is answered, by Node's error code (400 otherwise). */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
};

function ignore(): void {}

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
      settings: {
        maxConcurrentStreams: limits.http2MaxConcurrentStreams,
        initialWindowSize: HTTP2_STREAM_WINDOW_BYTES,
      },
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
    ...(options.http2StreamReset ? { streamReset: options.http2StreamReset } : {}),
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
    session.setLocalWindowSize(HTTP2_CONNECTION_WINDOW_BYTES);
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
  // A peer's GOAWAY with an error code is the peer's doing (it can send one per connection).
  const peerGoaway = rateLimitedDebug(options.logger, "http2 session closed by the peer with an error code");
  h2.on("sessionError", (e: Error & { code?: string }) => {
    if (e.code === "ERR_HTTP2_SESSION_ERROR") peerGoaway({ error: e.message });
    else options.logger.warn("http2 session error", { error: e.message });
  });

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
    detectHttp2Preface(socket, firstBytesTimeoutMs, (isHttp2) => {
      if (isHttp2) {
        h2Sockets.add(socket);
        h2.emit("connection", socket); // http2 reads the unshifted bytes itself
      } else {
        h1.emit("connection", socket);
        socket.resume(); // the http parser takes the unshifted bytes through 'data'
      }
    });
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
      for (const session of sessions) {
        markServerEnded(session); // its streams' ends are not client resets
        session.destroy();
      }
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
