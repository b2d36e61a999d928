import { createOhpqHttpHandler } from "../bridges/ohpq/http-monitor.js";
import { createOhpqBridge } from "../bridges/ohpq/index.js";
import { systemClock } from "../util/index.js";
import type { BridgeListenerDefinition } from "./bridge-listeners.js";
import { httpLimits } from "./http-limits.js";
import { createOnePortListener, type NodeHandler } from "./one-port-listener.js";
import { createTcpListener } from "./tcp-listener.js";

/** The "Oh, Please Queue" text bridge on `--ohpq-port` (README "Oh, Please Queue" bridge), over TLS when the server has a certificate. */
export const ohpqListener: BridgeListenerDefinition = {
  key: "ohpq",
  flag: "--ohpq-port",
  serves: "ohpq text",
  port: (config) => config.ohpqPort,
  create({ auth, clients, clientsAs, config, logger, metrics, shutdownSignal, tls }) {
    const bridge = createOhpqBridge(
      // AUTH logs in against the broker's users; each connection then calls as its user.
      { clients, logger, metrics, shutdownSignal, auth, clientsAs },
      {
        maxLineBytes: config.ohpqMaxLineBytes,
        ackTimeoutMs: config.ohpqAckTimeoutMs,
        idleTimeoutMs: config.ohpqIdleTimeoutMs,
        maxConnections: config.ohpqMaxConnections,
      },
    );
    const listener = createTcpListener(bridge, logger, tls);
    return {
      listen: (spec, signal) => listener.listen(spec, signal),
      stopAccepting: () => listener.stopAccepting(),
      close: (graceMs) => bridge.close(graceMs),
      connections: () => listener.connections(),
    };
  },
};

/** The ohpq HTTP monitoring interface on `--ohpq-http-port`: /health, /status, /queues. */
export const ohpqHttpListener: BridgeListenerDefinition = {
  key: "ohpq-http",
  flag: "--ohpq-http-port",
  serves: "ohpq HTTP monitoring",
  port: (config) => config.ohpqHttpPort,
  create({ clients, config, logger, tls }) {
    const handler = createOhpqHttpHandler({ clients, brokerId: config.ohpqBrokerId, clock: systemClock, logger });
    const listener = createOnePortListener({
      handler: handler as NodeHandler,
      logger,
      limits: httpLimits(config, config.ohpqHttpMaxConnections),
      ...(tls ? { tls } : {}),
    });
    return {
      listen: (spec, signal) => listener.listen(spec, signal),
      stopAccepting: () => listener.stopAccepting(),
      async close(graceMs) {
        await listener.drain(graceMs);
        await listener.destroy();
      },
      connections: () => listener.connections(),
    };
  },
};
