import type { Interceptor } from "@connectrpc/connect";
import { type Authenticator, createAuthenticator } from "../auth/index.js";
import { type Logger, silentLogger } from "../util/index.js";
import { createAuthInterceptor } from "./auth-interceptor.js";
import { createShutdownInterceptor } from "./shutdown-interceptor.js";

/** What the server-side interceptors need. */
export interface ServerInterceptorOptions {
  /** Aborted when shutdown begins. */
  shutdownSignal: AbortSignal;
  /** Who may call what. Default: auth off. */
  auth?: Authenticator;
  /** The topic of a subscription (undefined: no such subscription), for per-topic permissions. */
  subscriptionTopic?: (name: string) => Promise<string | undefined>;
  logger?: Logger;
}

/**
 * The one list of server-side interceptors. Every way into the services runs it: the Connect
 * adapter on the RPC port, the in-process clients of the bridges, and any faster path in front of
 * the adapter. Cross-cutting rules (shutdown, metrics, auth) belong here, once.
 */
export function createServerInterceptors(options: ServerInterceptorOptions): Interceptor[] {
  return [
    createShutdownInterceptor(options.shutdownSignal),
    createAuthInterceptor({
      auth: options.auth ?? createAuthenticator({ users: undefined }),
      subscriptionTopic: options.subscriptionTopic ?? (async () => undefined),
      logger: options.logger ?? silentLogger,
    }),
  ];
}
