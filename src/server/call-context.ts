import type { ContextValues } from "@connectrpc/connect";
import { PEER_ADDRESS } from "./auth-interceptor.js";
import { peerContextValues } from "./log-interceptor.js";

/** The part of a client socket a call's context values come from. */
export interface CallSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/**
 * A call's context values from its client socket: the peer (`host:port`) for the log fields, and
 * the address alone for the failed-login throttle (one bucket per client address, whatever its
 * port). Both ways into the services on the RPC port give them: connect-node's `contextValues`
 * option (the request's socket) and the lean path (its HTTP/2 session's socket).
 */
export function callContextValues(socket: CallSocket | undefined): ContextValues {
  return peerContextValues({ socket }).set(PEER_ADDRESS, socket?.remoteAddress ?? "");
}
