export {
  type BrokerServer,
  type BrokerServerOptions,
  createBrokerServer,
  type ListenerAddresses,
} from "./broker-server.js";
export { formatAddress, ListenError, type ListenerSpec, listenOn } from "./listen.js";
