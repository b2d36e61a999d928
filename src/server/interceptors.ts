import type { Interceptor } from "@connectrpc/connect";
import { createShutdownInterceptor } from "./shutdown-interceptor.js";

/** What the server-side interceptors need. */
export interface ServerInterceptorOptions {
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
  /** Measures every call (the server's RPC metrics); first, so it sees every other rejection too. */
  metrics?: Interceptor;
}

/**
 * The one list of server-side interceptors. Every way into the services runs it: the Connect
 * adapter on the RPC port, the in-process clients of the bridges, and any faster path in front of
 * the adapter. Cross-cutting rules (shutdown, metrics, auth) belong here, once.
 */
export function createServerInterceptors(options: ServerInterceptorOptions): Interceptor[] {
  return [...(options.metrics ? [options.metrics] : []), createShutdownInterceptor(options.shutdownSignal)];
}
