import { ANONYMOUS } from "../auth/index.js";
import { createOkqBridge, type OkqAuthenticator } from "../bridges/okq/index.js";
import { DEFAULT_LIMITS } from "../core/index.js";
import { BrokerError } from "../errors/index.js";
import type { BridgeListenerContext, BridgeListenerDefinition } from "./bridge-listeners.js";
import { createTcpListener } from "./tcp-listener.js";

/**
 * RESP `AUTH` against the broker's users: a login gives the connection the user's clients, so
 * the server interceptor judges each of its calls. Wrong credentials (or a throttled peer)
 * answer WRONGPASS.
 */
function okqAuthenticator({ auth, clientsAs }: BridgeListenerContext): OkqAuthenticator {
  return {
    async login(user, password, peer) {
      try {
        return clientsAs(await auth.login(user, password, peer));
      } catch (e) {
        if (e instanceof BrokerError && e.reason === "UNAUTHENTICATED") return undefined;
        throw e;
      }
    },
  };
}

/** The okQ bridge (RESP) on `--okq-port`, over TLS when the server has a certificate. */
export const okqListener: BridgeListenerDefinition = {
  key: "okq",
  flag: "--okq-port",
  serves: "RESP",
  port: (config) => config.okqPort,
  create(context) {
    const { clients, clientsAs, config, logger, metrics, shutdownSignal } = context;
    const bridge = createOkqBridge(
      // Before AUTH a connection's calls carry the anonymous principal: refused while auth is on.
      { clients, clientsBeforeAuth: clientsAs(ANONYMOUS), logger, metrics, shutdownSignal },
      {
        maxMessageBytes: config.maxMessageBytes,
        maxLeaseSeconds: Math.floor(DEFAULT_LIMITS.maxAckDeadlineMs / 1000),
        qstatusFormat: config.okqQstatus,
        idleTimeoutMs: config.okqIdleTimeoutMs,
        maxConnections: config.okqMaxConnections,
        maxPendingBytesTotal: config.okqMaxPendingBytesTotal,
        ...(context.auth.enabled ? { authenticator: okqAuthenticator(context) } : {}),
      },
    );
    const listener = createTcpListener(bridge, logger, context.tls);
    return {
      listen: (spec, signal) => listener.listen(spec, signal),
      stopAccepting: () => listener.stopAccepting(),
      close: (graceMs) => bridge.close(graceMs),
      connections: () => listener.connections(),
    };
  },
};
