import { createOpqBridge } from "../bridges/opq/index.js";
import { DEFAULT_LIMITS } from "../core/index.js";
import { hostAllowed } from "../util/index.js";
import type { BridgeListenerDefinition } from "./bridge-listeners.js";
import { httpLimits } from "./http-limits.js";
import { createOnePortListener, type NodeHandler } from "./one-port-listener.js";

/** The OPQ bridge (HTTP form posts) on `--opq-port`. */
export const opqListener: BridgeListenerDefinition = {
  key: "opq",
  flag: "--opq-port",
  serves: "OPQ HTTP",
  port: (config) => config.opqPort,
  create({ auth, clients, clientsAs, config, logger, metrics, shutdownSignal, tls }) {
    const bridge = createOpqBridge(
      // Pushes and replays act as their HTTP Basic (or bearer) user when the broker has users.
      { clients, logger, metrics, shutdownSignal, auth: { authenticator: auth, clientsAs } },
      {
        anyResponse: config.opqAnyResponse,
        maxAttempts: config.opqMaxAttempts,
        deadLetterTopic: config.opqDeadLetterTopic,
        timeoutMs: config.opqTimeoutMs,
        retainMs: config.opqRetainMs,
        maxAttributes: DEFAULT_LIMITS.maxAttributes,
        urlAllowed: (url) => hostAllowed(url, config.pushAllowedHosts),
      },
    );
    const listener = createOnePortListener({
      handler: bridge.handle as NodeHandler,
      closingHandler: bridge.refuseWhileClosing as NodeHandler,
      logger,
      limits: httpLimits(config, config.opqMaxConnections),
      ...(tls ? { tls } : {}),
    });
    return {
      async listen(spec, signal) {
        // Flags changed since the last run apply to every OPQ topic, not only to ones pushed to again.
        await bridge.start();
        return listener.listen(spec, signal);
      },
      stopAccepting: () => listener.stopAccepting(),
      async close(graceMs) {
        if (!(await listener.drain(graceMs))) logger.warn("opq: grace period over; closing connections");
        await listener.destroy();
      },
      connections: () => listener.connections(),
    };
  },
};
