import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Logger } from "../util/index.js";
import { rateLimitedDebug } from "./rate-limited-debug.js";

function debugLogger(enabled: boolean): { logger: Logger; lines: Array<Record<string, unknown> | undefined> } {
  const lines: Array<Record<string, unknown> | undefined> = [];
  const none = () => {};
  return {
    lines,
    logger: { info: none, warn: none, error: none, debug: (_m, f) => lines.push(f), debugEnabled: () => enabled },
  };
}

describe("rate-limited debug", () => {
  it("debug - a line at most once per interval, with how many were due", () => {
    const { logger, lines } = debugLogger(true);
    const note = rateLimitedDebug(logger, "reset", 60_000);
    for (let i = 0; i < 5; i++) note({ i });
    assert.deepEqual(lines, [{ i: 0, count: 1 }]);
    const every = rateLimitedDebug(logger, "reset", 0);
    every({ i: 1 });
    every({ i: 2 });
    assert.deepEqual(lines.slice(1), [
      { i: 1, count: 1 },
      { i: 2, count: 1 },
    ]);
  });

  it("debug - nothing while debug lines are off", () => {
    const { logger, lines } = debugLogger(false);
    const note = rateLimitedDebug(logger, "reset", 0);
    note({});
    assert.deepEqual(lines, []);
  });
});
