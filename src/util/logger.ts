import { pino } from "pino";
import pinoPretty from "pino-pretty";
import { redactForLog, redactText } from "./redact.js";

/**
 * Structured logging (README "Logs"). Every module logs through this interface, so the
 * implementation (pino, see {@link createLogger}) can change without touching callers.
 * `debug` and `child` are optional so that small hand-written loggers (tests) stay valid; call
 * them through {@link logDebug} and {@link childLogger}.
 */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** Detail for operators chasing a problem; off unless `--log-level debug`. */
  debug?(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line (request-scoped: `bridge`, `method`, `peer`, …). */
  child?(fields: Record<string, unknown>): Logger;
  /** Whether debug lines are written (lets a hot path skip building them). Absent: when `debug` is. */
  debugEnabled?(): boolean;
}

/** Least severe level written (`silent` writes nothing). */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/**
 * How lines look: `json` (one JSON object per line, for log shippers), `pretty` (readable text
 * for a terminal) or `auto` (pretty when the destination is a terminal, else json).
 */
export type LogFormat = "json" | "pretty" | "auto";

/** Something log lines can be written to (a stream, or anything with `write`). */
export interface LogDestination {
  write(text: string): unknown;
  /** True for a terminal; `auto` then picks `pretty`. */
  isTTY?: boolean;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Default `auto`. */
  format?: LogFormat;
  /** Where lines go. Default: stderr (fd 2, written synchronously so no line is lost at exit). */
  destination?: LogDestination;
  /** Colours in `pretty` lines. Default: when the destination is a terminal. */
  colorize?: boolean;
}

/** A {@link Logger} with every member. */
export interface FullLogger extends Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): FullLogger;
}

/**
 * A pino logger. JSON lines carry `level` as a name (`"info"`), `time` as ISO 8601, `pid`,
 * `msg` and the fields; `pretty` lines are pino-pretty's text, in this thread (no worker
 * thread). Every field is passed through {@link redactForLog}: secret-named keys (`hmacSecret`,
 * `password`, `authorization`, tokens, …) never reach a line, nor a password inside a URL.
 */
export function createLogger(options: LoggerOptions = {}): FullLogger {
  const destination = options.destination;
  const tty = destination ? destination.isTTY === true : process.stderr.isTTY === true;
  const format = options.format === undefined || options.format === "auto" ? (tty ? "pretty" : "json") : options.format;
  const pinoOptions = {
    level: options.level ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const out = destination ?? pino.destination({ dest: 2, sync: true });
  let stream: LogDestination = out;
  if (format === "pretty") {
    const prettify = pinoPretty.prettyFactory({
      colorize: options.colorize ?? tty,
      translateTime: "SYS:HH:MM:ss.l",
      ignore: "pid,hostname",
      singleLine: true,
    });
    stream = { write: (line: string) => out.write(prettify(line)) };
  }
  return wrap(pino(pinoOptions, stream as pino.DestinationStream));
}

function wrap(p: pino.Logger): FullLogger {
  const line = (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) => {
    if (!p.isLevelEnabled(level)) return;
    if (fields === undefined) p[level](redactText(message));
    else p[level](redactForLog(fields) as Record<string, unknown>, redactText(message));
  };
  return {
    debugEnabled: () => p.isLevelEnabled("debug"),
    debug: line("debug"),
    info: line("info"),
    warn: line("warn"),
    error: line("error"),
    child: (fields) => wrap(p.child(redactForLog(fields) as Record<string, unknown>)),
  };
}

/** The broker's stderr logger at `level`, in `format` (kept for callers of the first logger). */
export function createStderrLogger(level: LogLevel = "info", format: LogFormat = "auto"): FullLogger {
  return createLogger({ level, format });
}

/** Whether `logger` writes debug lines. */
export function isDebugEnabled(logger: Logger): boolean {
  return logger.debugEnabled ? logger.debugEnabled() : logger.debug !== undefined;
}

/** Logs at debug level if `logger` has a debug level. */
export function logDebug(logger: Logger, message: string, fields?: Record<string, unknown>): void {
  logger.debug?.(message, fields);
}

/**
 * A logger that adds `fields` to every line: `logger.child(fields)` when it has one, otherwise a
 * wrapper that merges them (fields given at the call win).
 */
export function childLogger(logger: Logger, fields: Record<string, unknown>): Logger {
  if (logger.child) return logger.child(fields);
  const merged = (extra?: Record<string, unknown>) => ({ ...fields, ...extra });
  return {
    info: (m, f) => logger.info(m, merged(f)),
    warn: (m, f) => logger.warn(m, merged(f)),
    error: (m, f) => logger.error(m, merged(f)),
    debug: (m, f) => logger.debug?.(m, merged(f)),
    child: (more) => childLogger(logger, { ...fields, ...more }),
    debugEnabled: () => isDebugEnabled(logger),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: FullLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  child: () => silentLogger,
};
