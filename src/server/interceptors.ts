import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../util/index.js";
import { createLogInterceptor } from "./log-interceptor.js";
import { createShutdownInterceptor } from "./shutdown-interceptor.js";

/** What the server-side interceptors need. */
export interface ServerInterceptorOptions {
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
  /** Where each call is logged (debug: every call; warn: server faults). Default: not logged. */
  logger?: Logger;
  /** Measures every call (the server's RPC metrics); first, so it sees every other rejection too. */
  metrics?: Interceptor;
}

/**
 * The one list of server-side interceptors. Every way into the services runs it: the Connect
 * adapter on the RPC port, the in-process clients of the bridges, and any faster path in front of
 * the adapter. Cross-cutting rules (shutdown, metrics, auth) belong here, once.
 */
export function createServerInterceptors(options: ServerInterceptorOptions): Interceptor[] {
  // The first is the outermost: metrics see every rejection; the log sees the code a client
  // gets (after the shutdown rule).
  return [
    ...(options.metrics ? [options.metrics] : []),
    ...(options.logger ? [createLogInterceptor(options.logger)] : []),
    createShutdownInterceptor(options.shutdownSignal),
  ];
}
