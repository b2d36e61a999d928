export { BrokerError, type BrokerErrorOptions, invalidArgument } from "./broker-error.js";
export { ALL_REASONS, REASONS, type Reason, type ReasonInfo, StatusCode } from "./reasons.js";
