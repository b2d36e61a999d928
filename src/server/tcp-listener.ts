import * as net from "node:net";
import type { TcpBridge } from "../bridges/bridge.js";
import type { Logger } from "../util/index.js";
import { destroyWhenHalfClosed } from "./half-closed.js";
import { type ListenerSpec, listenOn } from "./listen.js";
import { createTlsAcceptor } from "./tls-accept.js";
import type { TlsSource } from "./tls-source.js";

/** A `net.Server` (or `tls.Server`) handing every connection to a {@link TcpBridge}. */
export interface TcpListener {
  listen(spec: ListenerSpec, signal?: AbortSignal): Promise<net.AddressInfo>;
  /** Stops accepting new connections (open ones stay until the bridge closes them). */
  stopAccepting(): void;
  /** Open connections (TLS ones still in their handshake, and refused ones being closed, included). */
  connections(): number;
}

/** How long a refused connection may take to receive its refusal before it is destroyed. */
const REFUSAL_FLUSH_MS = 1_000;

/**
 * Creates the listener of a TCP bridge (RESP, text). Sockets are half-open capable, so a client
 * that sends its commands and then shuts down its side still gets every reply; TCP_NODELAY is on
 * because replies are small and latency matters. With `tls` (the server's `--tls-cert` and
 * `--tls-key`, see `BridgeListenerContext.tls`) the port speaks TLS only, as Redis 6 serves RESP
 * over TLS; the bridge sees the decrypted stream, and a reloaded certificate applies to new
 * connections.
 *
 * The bridge's {@link TcpBridge.connectionLimit} is enforced here, on real sockets: a connection
 * past it gets the dialect's refusal and is closed (destroyed once the refusal is flushed, or
 * after a second, so a client that never reads or never closes its side holds no descriptor).
 * With TLS a refused connection is closed at once, before any handshake work.
 */
export function createTcpListener(bridge: TcpBridge, logger: Logger, tlsSource?: TlsSource): TcpListener {
  /** Open connections: plain sockets, TCP sockets in their TLS handshake, and TLS sockets. */
  const open = new Set<net.Socket>();
  /** TCP sockets whose TLS handshake is not done yet (the bridge does not know them). */
  const handshaking = new Set<net.Socket>();
  const track = (socket: net.Socket) => {
    open.add(socket);
    destroyWhenHalfClosed(socket);
    socket.once("close", () => {
      open.delete(socket);
      handshaking.delete(socket);
    });
  };
  let closing = false;
  const limit = bridge.connectionLimit;
  const acceptor = tlsSource ? createTlsAcceptor(tlsSource) : undefined;
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    const full = limit !== undefined && open.size >= limit.maxConnections;
    track(socket);
    if (closing) {
      socket.destroy();
      return;
    }
    if (full) {
      if (acceptor) socket.destroy();
      else refuse(socket, limit.refusal);
      logger.warn(`${bridge.name}: connection refused: ${limit.maxConnections} connections open`, {
        peer: socket.remoteAddress,
      });
      return;
    }
    if (!acceptor) {
      bridge.handleConnection(socket);
      return;
    }
    handshaking.add(socket);
    // Once TLS owns the TCP socket, the TLS socket stands for the connection.
    const handOver = () => {
      open.delete(socket);
      handshaking.delete(socket);
    };
    acceptor.accept(
      socket,
      (secure) => {
        handOver();
        track(secure);
        if (closing) secure.destroy();
        else bridge.handleConnection(secure);
      },
      handOver,
    );
  });
  return {
    listen: (spec, signal) => listenOn(server, spec, signal ? { signal, logger } : { logger }),
    stopAccepting() {
      closing = true;
      if (server.listening) server.close();
      acceptor?.close();
      // Connections still in their TLS handshake never reached the bridge: they go now.
      // (A half-open capable TCP socket owned by TLS may not report its close: forget it here.)
      for (const socket of handshaking) {
        socket.destroy();
        open.delete(socket);
      }
      handshaking.clear();
    },
    connections: () => open.size,
  };
}

function refuse(socket: net.Socket, refusal: string): void {
  socket.on("error", () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), REFUSAL_FLUSH_MS);
  socket.once("close", () => clearTimeout(timer));
  socket.end(refusal, () => socket.destroy());
}
