/** The Node client transport of Switchyard (docs/client.md). */
export type { SwitchyardTransportOptions } from "./options.js";
export {
  CLIENT_CONNECTION_WINDOW_BYTES,
  CLIENT_STREAM_WINDOW_BYTES,
  createSwitchyardSessionManager,
  type SwitchyardSessionOptions,
} from "./session-manager.js";
export { createSwitchyardTransport, type SwitchyardTransport } from "./transport.js";
