import type { Logger } from "../../src/util/index.js";

/** One logged line: its level, message and fields. */
export type LogLine = [level: string, message: string, fields: Record<string, unknown> | undefined];

/** A Logger that keeps every line in `lines`; `debug` says whether debug lines are on (default true). */
export function recordingLogger(debug = true): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    void lines.push([level, message, fields]);
  return {
    lines,
    logger: { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug"), debugEnabled: () => debug },
  };
}
