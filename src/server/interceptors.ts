import type { Interceptor } from "@connectrpc/connect";
import { type Authenticator, createAuthenticator } from "../auth/index.js";
import { type Logger, silentLogger } from "../util/index.js";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createLogInterceptor } from "./log-interceptor.js";
import { createShutdownInterceptor } from "./shutdown-interceptor.js";

/** What the server-side interceptors need. */
export interface ServerInterceptorOptions {
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
  /** Who may call what. Default: auth off. */
  auth?: Authenticator;
  /** The topic of a subscription (undefined: no such subscription), for per-topic permissions. */
  subscriptionTopic?: (name: string) => string | undefined | Promise<string | undefined>;
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
  // gets (after the shutdown rule and the auth check, so refusals are logged with their reason).
  return [
    ...(options.metrics ? [options.metrics] : []),
    ...(options.logger ? [createLogInterceptor(options.logger)] : []),
    createShutdownInterceptor(options.shutdownSignal),
    createAuthInterceptor({
      auth: options.auth ?? createAuthenticator({ users: undefined }),
      subscriptionTopic: options.subscriptionTopic ?? (() => undefined),
      logger: options.logger ?? silentLogger,
    }),
  ];
}
