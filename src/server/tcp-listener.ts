import * as net from "node:net";
import type { TcpBridge } from "../bridges/bridge.js";
import type { Logger } from "../util/index.js";
import { type ListenerSpec, listenOn } from "./listen.js";

/** A `net.Server` handing every connection to a {@link TcpBridge}. */
export interface TcpListener {
  listen(spec: ListenerSpec, signal?: AbortSignal): Promise<net.AddressInfo>;
  /** Stops accepting new connections (open ones stay until the bridge closes them). */
  stopAccepting(): void;
  /** Open connections. */
  connections(): number;
}

/**
 * Creates the listener of a TCP bridge (RESP, text). Sockets are half-open capable, so a client
 * that sends its commands and then shuts down its side still gets every reply; TCP_NODELAY is on
 * because replies are small and latency matters.
 */
export function createTcpListener(bridge: TcpBridge, logger: Logger): TcpListener {
  const sockets = new Set<net.Socket>();
  let closing = false;
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    bridge.handleConnection(socket);
  });
  return {
    async listen(spec, signal) {
      const address = await listenOn(server, spec, signal ? { signal } : {});
      server.on("error", (e) => logger.error(`${bridge.name} listener error`, { error: e }));
      return address;
    },
    stopAccepting() {
      closing = true;
      if (server.listening) server.close();
    },
    connections: () => sockets.size,
  };
}
