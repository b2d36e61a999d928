/** Argument readers of the okQ commands: `utf8` answers what Node's decoder answers, on any bytes. */
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { describe, it } from "node:test";
import { utf8 } from "./command.js";

/** What `utf8` must answer: the bytes decoded when they are well-formed UTF-8, else undefined. */
const expected = (b: Buffer) => (isUtf8(b) ? b.toString("utf8") : undefined);

describe("okq command arguments", () => {
  it("utf8 - short and long, ASCII, multi-byte and malformed bytes read as Node's decoder reads them", () => {
    const fixed = ["", "e1", "okq-bench", "exactly12chr", "thirteen-char", "é", "aé", "日本", "\u0000\u007f"];
    for (const s of fixed) assert.equal(utf8(Buffer.from(s)), s);
    for (const bytes of [[0x80], [0x61, 0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x61, 0xff, 0x62]]) {
      assert.equal(utf8(Buffer.from(bytes)), undefined);
    }
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let k = 0; k < 20_000; k++) {
      const length = next() % 20;
      // Mostly ASCII, some high bytes: both paths and their hand-over are hit.
      const b = Buffer.from(Array.from({ length }, () => (next() % 8 === 0 ? 0x80 + (next() % 128) : next() % 128)));
      assert.equal(utf8(b), expected(b), `bytes ${b.toString("hex")}`);
    }
  });
});
