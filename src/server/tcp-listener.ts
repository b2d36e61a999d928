import * as net from "node:net";
import type { TcpBridge } from "../bridges/bridge.js";
import type { Logger } from "../util/index.js";
import { type ListenerSpec, listenOn } from "./listen.js";
import { createTlsAcceptor } from "./tls-accept.js";
import type { TlsSource } from "./tls-source.js";

/** A `net.Server` (or `tls.Server`) handing every connection to a {@link TcpBridge}. */
export interface TcpListener {
  listen(spec: ListenerSpec, signal?: AbortSignal): Promise<net.AddressInfo>;
  /** Stops accepting new connections (open ones stay until the bridge closes them). */
  stopAccepting(): void;
  /** Open connections (TLS ones still in their handshake included). */
  connections(): number;
}

/**
 * Creates the listener of a TCP bridge (RESP, text). Sockets are half-open capable, so a client
 * that sends its commands and then shuts down its side still gets every reply; TCP_NODELAY is on
 * because replies are small and latency matters. With `tls` (the server's `--tls-cert` and
 * `--tls-key`, see `BridgeListenerContext.tls`) the port speaks TLS only, as Redis 6 serves RESP
 * over TLS; the bridge sees the decrypted stream, and a reloaded certificate applies to new
 * connections.
 */
export function createTcpListener(bridge: TcpBridge, logger: Logger, tlsSource?: TlsSource): TcpListener {
  const raw = new Set<net.Socket>();
  /** TCP sockets whose TLS handshake is not done yet (the bridge does not know them). */
  const handshaking = new Set<net.Socket>();
  let closing = false;
  const acceptor = tlsSource ? createTlsAcceptor(tlsSource) : undefined;
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
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
      bridge.handleConnection(socket);
      return;
    }
    handshaking.add(socket);
    acceptor.accept(socket, (secure) => {
      handshaking.delete(socket);
      if (closing) secure.destroy();
      else bridge.handleConnection(secure);
    });
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
      acceptor?.close();
      // Connections still in their TLS handshake never reached the bridge: they go now.
      for (const socket of handshaking) socket.destroy();
    },
    connections: () => raw.size,
  };
}
