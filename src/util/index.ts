export { type ByteBudget, createByteBudget } from "./byte-budget.js";
export { type Clock, createFakeClock, type FakeClock, systemClock, type TimerHandle } from "./clock.js";
export { type HostPattern, hostAllowed, parseHostPattern } from "./host-pattern.js";
export { type LinkedSignal, linkSignals } from "./link-signals.js";
export { createStderrLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
