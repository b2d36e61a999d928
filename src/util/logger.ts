/** Structured logging to stderr; fields are printed as JSON. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Minimum level of a {@link createStderrLogger} logger. */
export type LogLevel = "info" | "warn" | "error" | "silent";

const LEVELS: Record<LogLevel, number> = { info: 0, warn: 1, error: 2, silent: 3 };

function describe(value: unknown): unknown {
  if (value instanceof Error) {
    const cause = (value as Error & { cause?: unknown }).cause;
    return { name: value.name, message: value.message, stack: value.stack, cause: cause && describe(cause) };
  }
  return value;
}

/** A logger writing one line per entry to stderr (stdout carries only the ready line). */
export function createStderrLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS[level];
  const write = (lvl: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    let line = `${new Date().toISOString()} ${lvl} ${message}`;
    if (fields) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(fields)) out[k] = describe(v);
      line += ` ${JSON.stringify(out)}`;
    }
    process.stderr.write(`${line}\n`);
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
