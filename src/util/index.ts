export { type Clock, createFakeClock, type FakeClock, systemClock, type TimerHandle } from "./clock.js";
export { createStderrLogger, type Logger, type LogLevel, silentLogger } from "./logger.js";
