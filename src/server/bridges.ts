import type { BridgeListenerDefinition } from "./bridge-listeners.js";
import { gophermqListener, gophermqMetricsListener } from "./gophermq-listener.js";
import { ohpqHttpListener, ohpqListener } from "./ohpq-listener.js";
import { okqListener } from "./okq-listener.js";
import { opqListener } from "./opq-listener.js";
import { restmqListener } from "./restmq-listener.js";

/**
 * Every listener beside the RPC port, in start order. A bridge joins the server by adding its
 * definition here (and its port setting to the config).
 */
export const BRIDGE_LISTENERS: readonly BridgeListenerDefinition[] = [
  okqListener,
  opqListener,
  restmqListener,
  ohpqListener,
  ohpqHttpListener,
  gophermqListener,
  gophermqMetricsListener,
];
