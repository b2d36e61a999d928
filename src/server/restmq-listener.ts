import { createRestmqBridge } from "../bridges/restmq/index.js";
import type { BridgeListenerDefinition } from "./bridge-listeners.js";
import { httpLimits } from "./http-limits.js";
import { createOnePortListener, type NodeHandler } from "./one-port-listener.js";

/** The RestMQ bridge (HTTP REST, JSON protocol, comet, websocket) on `--restmq-port`. */
export const restmqListener: BridgeListenerDefinition = {
  key: "restmq",
  flag: "--restmq-port",
  serves: "RestMQ HTTP, comet, websocket",
  port: (config) => config.restmqPort,
  create({ auth, clients, clientsAs, config, logger, metrics, shutdownSignal, tls }) {
    const bridge = createRestmqBridge(
      // Requests act as their HTTP Basic user (websockets: the auth cookie) when the broker has users.
      {
        clients,
        logger,
        metrics,
        shutdownSignal,
        ...(auth.enabled ? { auth: { authenticator: auth, clientsAs } } : {}),
      },
      {
        maxMessageBytes: config.maxMessageBytes,
        numericValues: config.restmqNumericValues,
        hostsAllow: config.restmqHostsAllow,
        hostsDeny: config.restmqHostsDeny,
        maxConsumerBufferBytes: config.restmqMaxConsumerBufferBytes,
      },
    );
    const listener = createOnePortListener({
      handler: bridge.handle as NodeHandler,
      logger,
      onUpgrade: bridge.handleUpgrade,
      limits: httpLimits(config, config.restmqMaxConnections),
      // With --tls-cert every listener is TLS only: Basic passwords never cross in clear.
      ...(tls ? { tls } : {}),
    });
    return {
      listen: (spec, signal) => listener.listen(spec, signal),
      stopAccepting: () => listener.stopAccepting(),
      async close(graceMs) {
        // Live consumers end at once (comet streams finish, websockets close with 1001); plain
        // requests in flight get the grace period; then every connection goes.
        await bridge.close(Math.min(graceMs, 5_000));
        const drained = await listener.drain(graceMs);
        if (!drained) logger.warn("restmq: grace period over; closing connections", { inFlight: listener.inFlight() });
        await listener.destroy();
      },
      connections: () => listener.connections(),
    };
  },
};
