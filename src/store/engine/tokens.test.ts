import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatToken, formatTokenAfter, type LeaseToken, parseToken, parseTokenInto, tokenPrefix } from "./tokens.js";

describe("lease tokens", () => {
  const cases: LeaseToken[] = [
    { subId: 1, seq: 1, attempt: 1, priority: 0 },
    { subId: 35, seq: 36, attempt: 2, priority: 9 },
    { subId: 0xffff_ffff, seq: Number.MAX_SAFE_INTEGER, attempt: 0xffff_ffff, priority: 5 },
  ];

  it("formats from a prefix exactly as formatToken does, and parses back", () => {
    for (const t of cases) {
      const s = formatTokenAfter(tokenPrefix(t.subId), t.seq, t.attempt, t.priority);
      assert.equal(s, formatToken(t));
      assert.deepEqual(parseToken(s), t);
      const into: LeaseToken = { subId: -1, seq: -1, attempt: -1, priority: -1 };
      assert.equal(parseTokenInto(s, into), true);
      assert.deepEqual(into, t);
    }
  });

  it("formats every attempt around the made-once ends and every priority as formatToken does", () => {
    for (const attempt of [1, 2, 9, 10, 35, 36, 37, 1295, 1296]) {
      for (let priority = 0; priority <= 9; priority++) {
        const t = { subId: 7, seq: 123_456, attempt, priority };
        const s = formatTokenAfter(tokenPrefix(7), t.seq, attempt, priority);
        assert.equal(s, `7-${(123_456).toString(36)}-${attempt.toString(36)}-${priority}`);
        assert.deepEqual(parseToken(s), t);
      }
    }
  });

  it("refuses what is not a token and leaves the target as it was", () => {
    const bad = [
      "",
      "1-1-1",
      "1-1-1-",
      "1-1-1-10",
      "1-1-1-a",
      "1-0-1-0", // seq 0
      "1-1-0-0", // attempt 0
      "1--1-0",
      "-1-1-0",
      "1-1-1-0-",
      "A-1-1-0", // upper case is not base 36 here
      "1-1-1-0x",
      "12345678-1-1-0", // subId longer than 7 digits
      "1-zzzzzzzzzzzz-1-0", // seq longer than 11 digits
      "1-zzzzzzzzzzz-1-0", // 11 digits but past 2^53
    ];
    for (const s of bad) {
      assert.equal(parseToken(s), undefined, s);
      const into: LeaseToken = { subId: 7, seq: 7, attempt: 7, priority: 7 };
      assert.equal(parseTokenInto(s, into), false, s);
      assert.deepEqual(into, { subId: 7, seq: 7, attempt: 7, priority: 7 }, s);
    }
  });
});
