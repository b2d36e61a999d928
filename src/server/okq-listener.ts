import { createOkqBridge } from "../bridges/okq/index.js";
import { DEFAULT_LIMITS } from "../core/index.js";
import type { BridgeListenerDefinition } from "./bridge-listeners.js";
import { createTcpListener } from "./tcp-listener.js";

/** The okQ bridge (RESP) on `--okq-port`. */
export const okqListener: BridgeListenerDefinition = {
  key: "okq",
  flag: "--okq-port",
  serves: "RESP",
  port: (config) => config.okqPort,
  create({ clients, config, logger, metrics, shutdownSignal }) {
    const bridge = createOkqBridge(
      { clients, logger, metrics, shutdownSignal },
      {
        maxMessageBytes: config.maxMessageBytes,
        maxLeaseSeconds: Math.floor(DEFAULT_LIMITS.maxAckDeadlineMs / 1000),
        qstatusFormat: config.okqQstatus,
        idleTimeoutMs: config.okqIdleTimeoutMs,
        maxConnections: config.okqMaxConnections,
      },
    );
    const listener = createTcpListener(bridge, logger);
    return {
      listen: (spec, signal) => listener.listen(spec, signal),
      stopAccepting: () => listener.stopAccepting(),
      close: (graceMs) => bridge.close(graceMs),
      connections: () => listener.connections(),
    };
  },
};
