import * as net from "node:net";
import type { TcpBridge } from "../bridges/bridge.js";
import type { Logger } from "../util/index.js";
import { type ListenerSpec, listenOn } from "./listen.js";

/** A `net.Server` handing every connection to a {@link TcpBridge}. */
export interface TcpListener {
  listen(spec: ListenerSpec, signal?: AbortSignal): Promise<net.AddressInfo>;
  /** Stops accepting new connections (open ones stay until the bridge closes them). */
  stopAccepting(): void;
  /** Open connections (refused ones still being closed included). */
  connections(): number;
}

/** How long a refused connection may take to receive its refusal before it is destroyed. */
const REFUSAL_FLUSH_MS = 1_000;

/**
 * Creates the listener of a TCP bridge (RESP, text). Sockets are half-open capable, so a client
 * that sends its commands and then shuts down its side still gets every reply; TCP_NODELAY is on
 * because replies are small and latency matters.
 *
 * The bridge's {@link TcpBridge.connectionLimit} is enforced here, on real sockets: a connection
 * past it gets the dialect's refusal and is closed (destroyed once the refusal is flushed, or
 * after a second, so a client that never reads or never closes its side holds no descriptor).
 */
export function createTcpListener(bridge: TcpBridge, logger: Logger): TcpListener {
  const sockets = new Set<net.Socket>();
  let closing = false;
  const limit = bridge.connectionLimit;
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    const full = limit !== undefined && sockets.size >= limit.maxConnections;
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    if (full) {
      refuse(socket, limit.refusal);
      logger.warn(`${bridge.name}: connection refused: ${limit.maxConnections} connections open`, {
        peer: socket.remoteAddress,
      });
      return;
    }
    bridge.handleConnection(socket);
  });
  return {
    listen: (spec, signal) => listenOn(server, spec, signal ? { signal, logger } : { logger }),
    stopAccepting() {
      closing = true;
      if (server.listening) server.close();
    },
    connections: () => sockets.size,
  };
}

function refuse(socket: net.Socket, refusal: string): void {
  socket.on("error", () => socket.destroy());
  const timer = setTimeout(() => socket.destroy(), REFUSAL_FLUSH_MS);
  socket.once("close", () => clearTimeout(timer));
  socket.end(refusal, () => socket.destroy());
}
