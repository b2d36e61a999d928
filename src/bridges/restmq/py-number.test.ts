import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PyNumber } from "./py-json.js";
import { type CharSource, pyNumberLiteral, redisValue } from "./py-number.js";

const show = (v: string) => {
  const r = redisValue(v);
  return r instanceof PyNumber ? `#${r.literal}` : r;
};

/** A text that counts what the scanner does with it: one unit per character read or copied. */
function metered(text: string): { source: CharSource; work: () => number } {
  let work = 0;
  const source: CharSource = {
    length: text.length,
    charCodeAt(i: number) {
      work++;
      return text.charCodeAt(i);
    },
    slice(start?: number, end?: number) {
      const s = text.slice(start, end);
      work += s.length;
      return s;
    },
  };
  return { source, work: () => work };
}

describe("restmq numeric-looking values", () => {
  it("restmq - values that cyclone.redis took for numbers become numbers; the rest stay strings", () => {
    const cases: [string, string][] = [
      ["42", "#42"],
      ["007", "#7"],
      ["0", "#0"],
      ["000", "#0"],
      ["-0", "#0"],
      ["-007", "#-7"],
      ["+5", "#5"],
      ["42 ", "#42"],
      ["42\t\n\v\f\r", "#42"],
      ["99999999999999999999999", "#99999999999999999999999"],
      ["3.14", "#3.14"],
      [".5", "#0.5"],
      ["-.5", "#-0.5"],
      ["1.", "#1.0"],
      ["-1.5e3", "#-1500.0"],
      ["1.5E+3 ", "#1500.0"],
      ["1.e2", "#100.0"],
      ["2.50", "#2.5"],
      ["007.5", "#7.5"],
      ["1e5", "1e5"],
      ["1.5e", "1.5e"],
      ["1.5e+", "1.5e+"],
      ["12abc", "12abc"],
      ["1.2.3", "1.2.3"],
      ["42 .", "42 ."],
      ["-", "-"],
      ["+", "+"],
      [".", "."],
      ["+.e1", "+.e1"],
      ["abc", "abc"],
      ["", ""],
      [" 42", " 42"],
      ["0x10", "0x10"],
      ["1_000", "1_000"],
      ["-inf", "-inf"],
      ["+.nan", "+.nan"],
    ];
    for (const [v, expected] of cases) assert.equal(show(v), expected, JSON.stringify(v));
  });

  it("restmq - hostile long values: right answers, and the work is linear in the length", () => {
    const n = 200_000;
    const digits = (d: string, k = n) => d.repeat(k);
    const cases: [string, string | undefined][] = [
      [`${digits("1")}.x`, undefined], // backtracked quadratically in the old \d+\.?\d* pattern
      [`${digits("1")} x`, undefined],
      [`1.${digits(" ")}x`, undefined],
      [`${digits("1")}.${digits("2")}e`, undefined],
      [`${digits("1")}e${digits("5")}`, undefined],
      [`${digits("0")}7`, "7"],
      [`-${digits("0")}`, "0"],
      [`-${digits("0")}12`, "-12"],
      [digits("7"), digits("7")], // BigInt made this quadratic (to binary and back)
      [`.${digits("5")}`, "0.5555555555555556"],
      [`${digits("0")}.${digits("0")}1`, "0.0"],
      [`${digits("9")}.5`, "Infinity"],
      [`${digits("1")}.5${digits(" ")}`, "Infinity"],
    ];
    for (const [text, expected] of cases) {
      const { source, work } = metered(text);
      assert.equal(pyNumberLiteral(source), expected, `${text.slice(0, 12)}… (${text.length} chars)`);
      assert.ok(work() <= 3 * text.length + 16, `work ${work()} for ${text.length} characters`);
    }
  });

  it("restmq - a million-digit element answers as the number it spells, leading zeros cut", () => {
    const big = `000${"7".repeat(1_000_000)}`;
    const r = redisValue(big);
    assert.ok(r instanceof PyNumber);
    assert.equal(r.literal, "7".repeat(1_000_000));
  });
});
