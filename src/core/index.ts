export type * from "../model/index.js";
export type { Broker, CreateSubscriptionSpec, CreateTopicSpec } from "./broker.js";
export { type BrokerOptions, createBroker } from "./create-broker.js";
export { MAX_NACK_ERROR_BYTES } from "./dead-letter-ops.js";
export { type BrokerLimits, DEFAULT_LIMITS } from "./limits.js";
export { type BrokerMetricsSink, noBrokerMetrics } from "./metrics-sink.js";
export { checkEndpointAllowed, parseEndpoint, pushLeaseMs } from "./push-settings.js";
