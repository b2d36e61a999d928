import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Code } from "@connectrpc/connect";
import { ALL_REASONS, REASONS } from "../src/errors/index.js";

const doc = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*([a-z_]+)\s*\|\s*(\d{3})\s*\|/gm)].map((m) => ({
  reason: m[1] as string,
  code: m[2] as string,
  http: Number(m[3]),
}));

/** connect's snake_case code names, from its own enum. */
function codeName(code: number): string {
  return (Code[code] as string).replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

test("errors - docs/errors.md lists every reason of the REASONS table", () => {
  assert.deepEqual(rows.map((r) => r.reason).sort(), [...ALL_REASONS].sort());
});

test("errors - each documented code and HTTP status matches the REASONS table", () => {
  for (const row of rows) {
    const info = REASONS[row.reason as keyof typeof REASONS];
    assert.equal(codeName(info.code), row.code, `${row.reason} code`);
    assert.equal(info.httpStatus, row.http, `${row.reason} http`);
  }
});

test("errors - our status codes agree with connect's Code enum numbering", () => {
  for (const info of Object.values(REASONS)) assert.ok(Code[info.code] !== undefined);
});
