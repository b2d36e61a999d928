import type * as net from "node:net";
import * as tls from "node:tls";
import type { TlsSource } from "./tls-source.js";

/** Options of {@link acceptTls}. */
export interface AcceptTlsOptions {
  /** ALPN protocols offered, in order of preference (e.g. `h2`, `http/1.1`). Default: none. */
  alpnProtocols?: string[];
  /** How long the client may take to finish its handshake. Default 10 s. */
  handshakeTimeoutMs?: number;
}

/**
 * Starts the server side of TLS on an accepted TCP socket with the source's current certificate
 * (so a reload applies to the next connection) and calls `onSecure` with the decrypted socket
 * once the handshake is done. A failed or slow handshake destroys the connection.
 */
export function acceptTls(
  raw: net.Socket,
  source: TlsSource,
  onSecure: (socket: tls.TLSSocket) => void,
  options: AcceptTlsOptions = {},
): void {
  const socket = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext: source.secureContext(),
    ...(options.alpnProtocols ? { ALPNProtocols: options.alpnProtocols } : {}),
  });
  const timer = setTimeout(() => socket.destroy(), options.handshakeTimeoutMs ?? 10_000);
  // Kept after the handshake too: an error on the connection ends it, whoever reads it.
  socket.on("error", () => {
    clearTimeout(timer);
    socket.destroy();
  });
  socket.once("close", () => clearTimeout(timer));
  socket.once("secure", () => {
    clearTimeout(timer);
    onSecure(socket);
  });
}
