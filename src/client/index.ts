/** The Node client transport of Switchyard (docs/client.md). */
export type { SwitchyardTransportOptions } from "./options.js";
export { createSwitchyardTransport, type SwitchyardTransport } from "./transport.js";
