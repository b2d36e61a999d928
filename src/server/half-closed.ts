import type { Duplex } from "node:stream";

/**
 * How long a connection may stay open once the server has ended its side (sent FIN): time for
 * the client to read the last bytes and close its own side.
 */
export const HALF_CLOSED_GRACE_MS = 2_000;

/**
 * Destroys `socket` if its client has not closed its side `graceMs` after the server ended its
 * own. Without this a client that never closes (a slowloris that got its 408, an HTTP/2 peer
 * after GOAWAY, a RESP client after QUIT) keeps the connection, and its slot under the
 * listener's connection cap, forever: Node keeps an ended socket until the peer's FIN.
 */
export function destroyWhenHalfClosed(socket: Duplex, graceMs = HALF_CLOSED_GRACE_MS): void {
  socket.once("finish", () => {
    if (socket.destroyed) return;
    const timer = setTimeout(() => socket.destroy(), graceMs);
    timer.unref();
    socket.once("close", () => clearTimeout(timer));
  });
}
