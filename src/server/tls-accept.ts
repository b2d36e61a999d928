import type * as net from "node:net";
import * as tls from "node:tls";
import type { TlsSource } from "./tls-source.js";

/** Options of {@link createTlsAcceptor}. */
export interface TlsAcceptorOptions {
  /** ALPN protocols offered, in order of preference (e.g. `h2`, `http/1.1`). Default: none. */
  alpnProtocols?: string[];
  /** How long a client may take to finish its handshake. Default 10 s. */
  handshakeTimeoutMs?: number;
}

/** Turns accepted TCP sockets into TLS ones (server side). */
export interface TlsAcceptor {
  /**
   * Starts TLS on `raw`; `onSecure` gets the decrypted socket once the handshake is done. A
   * failed or slow handshake destroys the connection and calls `onFailed` instead (a half-open
   * capable raw socket does not report its own close once TLS owns it).
   */
  accept(raw: net.Socket, onSecure: (socket: tls.TLSSocket) => void, onFailed?: () => void): void;
  /** Stops following the source's reloads. */
  close(): void;
}

/**
 * Creates a {@link TlsAcceptor} on the source's certificate (following its reloads: new
 * connections get the new pair). It is a `tls.Server` that never listens: the listener's own
 * `net.Server` hands it each accepted socket, so the listener keeps its bookkeeping of every TCP
 * connection, handshakes included.
 */
export function createTlsAcceptor(source: TlsSource, options: TlsAcceptorOptions = {}): TlsAcceptor {
  const waiting = new Map<
    string,
    { raw: net.Socket; onSecure: (socket: tls.TLSSocket) => void; onFailed: (() => void) | undefined }
  >();
  const keyOf = (s: net.Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const server = tls.createServer(
    {
      ...source.current(),
      handshakeTimeout: options.handshakeTimeoutMs ?? 10_000,
      ...(options.alpnProtocols ? { ALPNProtocols: options.alpnProtocols } : {}),
    },
    (secure) => {
      const key = keyOf(secure);
      const w = waiting.get(key);
      waiting.delete(key);
      if (w) w.onSecure(secure);
      else secure.destroy();
    },
  );
  // A failed handshake (a cleartext client, an untrusted certificate, a timeout) ends only that connection.
  server.on("tlsClientError", (_e: Error, socket: tls.TLSSocket) => {
    socket.destroy();
    const key = keyOf(socket);
    const w = waiting.get(key);
    waiting.delete(key);
    w?.raw.destroy();
    w?.onFailed?.();
  });
  const unsubscribe = source.onReload((pair) => server.setSecureContext({ ...pair }));
  return {
    accept(raw, onSecure, onFailed) {
      const key = keyOf(raw);
      waiting.set(key, { raw, onSecure, onFailed });
      raw.once("close", () => {
        if (waiting.get(key)?.raw === raw) waiting.delete(key);
      });
      server.emit("connection", raw);
    },
    close: unsubscribe,
  };
}
