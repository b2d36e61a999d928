/**
 * What a lean call starts from: what the protocol handlers share ({@link LeanEnv}), the client of
 * its stream ({@link peerOf}, kept per connection, with its share of the request budget), and the
 * {@link LeanCall} made from them ({@link startLeanCall}). The call's stream is lean-stream.ts.
 *
 * @module
 */
import type * as http2 from "node:http2";
import type { ConnectError, ContextValues, Interceptor } from "@connectrpc/connect";
import type { ByteBudget, PeerByteBudgets } from "../../util/index.js";
import type { LeanMethod } from "./hot-methods.js";
import { LeanCall, type LeanCallInit } from "./lean-call.js";

/** What both protocol handlers of the lean path share. */
export interface LeanEnv {
  readonly interceptors: readonly Interceptor[];
  /** Largest request message in bytes (connect's `readMaxBytes`). */
  readonly readMaxBytes: number;
  /** Bound on request bytes buffered across all calls, with each client's share; undefined: none. */
  readonly budget: PeerByteBudgets | undefined;
  /**
   * Checks a call's credentials from its headers before any of its body is read (so a client
   * without credentials cannot hold request bytes): undefined when no check is needed (auth off),
   * else a promise that rejects with the call's error.
   */
  readonly authenticate:
    | ((headers: http2.IncomingHttpHeaders, peer: LeanPeer) => Promise<void> | undefined)
    | undefined;
  /** The error a call gets when the budget is used up. */
  readonly busyError: () => ConnectError;
  /** Registers a live call, so that shutdown can abort it. */
  readonly track: (call: LeanCall) => void;
  /** Unregisters a call once its stream closed. */
  readonly untrack: (call: LeanCall) => void;
  /** Context values of a call (as connect-node's `contextValues` option makes them), if set. */
  readonly contextValues: ((peer: LeanPeer, headers: http2.IncomingHttpHeaders) => ContextValues) | undefined;
}

/** The client of a call, as its connection's socket said when the lean path claimed the stream. */
export interface LeanPeer {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
}

const kPeer = Symbol("leanPeer");
/**
 * A peer as cached on its session: whether its connection is TLS, and the request budget share
 * last handed out for it.
 */
interface CachedPeer extends LeanPeer {
  readonly secure: boolean;
  budgets?: PeerByteBudgets;
  budget?: ByteBudget;
}
type PeerSession = http2.Http2Session & { [kPeer]?: CachedPeer };

/**
 * The peer of a stream, read when the lean path first claims a stream of its session and kept on
 * the session (one object per connection, not per call): later the session (and its socket) may be
 * gone, and a peer must never be looked up from a socket that was closed meanwhile.
 */
export function peerOf(stream: http2.ServerHttp2Stream): LeanPeer {
  const session = stream.session as PeerSession | undefined;
  const cached = session?.[kPeer];
  if (cached !== undefined) return cached;
  const socket = session?.socket;
  const peer: CachedPeer = {
    remoteAddress: socket?.remoteAddress,
    remotePort: socket?.remotePort,
    // (The session's socket is a proxy: read once per connection, not per call.)
    secure: (socket as { encrypted?: boolean } | undefined)?.encrypted === true,
  };
  // Only an address read from a live socket is kept (a closed socket has none).
  if (session !== undefined && peer.remoteAddress !== undefined) session[kPeer] = peer;
  return peer;
}

/** The client's share of `budgets`, made once per peer (the share keeps no state of its own). */
export function budgetOf(budgets: PeerByteBudgets, peer: LeanPeer): ByteBudget {
  const p = peer as CachedPeer;
  if (p.budgets !== budgets || p.budget === undefined) {
    p.budget = budgets.forPeer(p.remoteAddress);
    p.budgets = budgets;
  }
  return p.budget;
}

/**
 * The {@link LeanCall} of a stream the lean path claimed: what its protocol parsed (`init`), plus
 * what every protocol takes alike: the request headers, TLS or not (as {@link peerOf} recorded it
 * for the connection), and the context values made (when first read) from that peer.
 */
export function startLeanCall(
  headers: http2.IncomingHttpHeaders,
  hot: LeanMethod,
  env: LeanEnv,
  peer: LeanPeer,
  init: Pick<LeanCallInit, "protocolName" | "timeoutMs" | "responseHeader" | "responseTrailer">,
): LeanCall {
  return new LeanCall({
    protocolName: init.protocolName,
    timeoutMs: init.timeoutMs,
    responseHeader: init.responseHeader,
    responseTrailer: init.responseTrailer,
    hot,
    headers,
    secure: (peer as CachedPeer).secure,
    peer,
    valuesOf: env.contextValues,
  });
}
