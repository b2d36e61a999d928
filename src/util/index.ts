export { type ByteBudget, createByteBudget, type PeerByteBudgets, sharePerPeer } from "./byte-budget.js";
export { type Clock, createFakeClock, type FakeClock, systemClock, type TimerHandle } from "./clock.js";
export { type HostPattern, hostAllowed, parseHostPattern } from "./host-pattern.js";
export { canonicalHeaderKey, UNFORWARDED_HEADERS } from "./http-headers.js";
export { type LinkedSignal, linkSignals } from "./link-signals.js";
export { createLogGate } from "./log-gate.js";
export {
  childLogger,
  createLogger,
  createStderrLogger,
  type FullLogger,
  isDebugEnabled,
  type LogDestination,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  logDebug,
  silentLogger,
} from "./logger.js";
export { clientKey, isLoopbackAddress } from "./peer-address.js";
export { encodeQuery, parseQueryInto, queryEscape, queryUnescape } from "./query-encoding.js";
export { isSecretKey, REDACTED, redactForLog, redactText, urlForLog } from "./redact.js";
export { waitForDrain } from "./socket-drain.js";
