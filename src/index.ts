/**
 * Switchyard's public API: run a broker server in-process, and a lean Node client transport for
 * the generated clients (`createSwitchyardTransport`, docs/client.md).
 *
 * ```ts
 * import { createBrokerServer, validateConfig } from "switchyard";
 * const server = createBrokerServer(validateConfig({ port: 0, dataDir: "/tmp/sy" }));
 * const { rpc } = await server.start();
 * // …
 * await server.close();
 * ```
 */
export { hashPassword, type Role, type UserConfig } from "./auth/index.js";
export {
  createSwitchyardSessionManager,
  createSwitchyardTransport,
  type SwitchyardSessionOptions,
  type SwitchyardTransport,
  type SwitchyardTransportOptions,
} from "./client/index.js";
export {
  type Config,
  ConfigError,
  DEFAULT_CONFIG,
  type LoadedConfig,
  loadConfig,
  type PortSetting,
  validateConfig,
} from "./config/index.js";
export {
  type BrokerServer,
  type BrokerServerOptions,
  createBrokerServer,
  ListenError,
  type ListenerAddresses,
} from "./server/index.js";
