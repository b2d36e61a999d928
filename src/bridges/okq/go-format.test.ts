/** Go's %q quoting and strconv.Atoi errors, as okQ's error texts show them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goAtoi, goQuote } from "./go-format.js";

describe("okq go format", () => {
  it("goQuote - escapes like strconv.Quote", () => {
    const q = (b: Buffer | string) => goQuote(typeof b === "string" ? Buffer.from(b) : b);
    assert.equal(q("FOO"), '"FOO"');
    assert.equal(q(""), '""');
    assert.equal(q('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(q("\n\r\t\x07\x08\x0c\x0b"), '"\\n\\r\\t\\a\\b\\f\\v"');
    assert.equal(q("\x00\x1f\x7f"), '"\\x00\\x1f\\x7f"');
    assert.equal(q("héllo ✓ 😀"), '"héllo ✓ 😀"');
    assert.equal(q("\u00a0\u200b"), '"\\u00a0\\u200b"');
    assert.equal(q(Buffer.from([0x41, 0xff, 0xc3])), '"A\\xff\\xc3"');
    assert.equal(q(Buffer.from([0xed, 0xa0, 0x80])), '"\\xed\\xa0\\x80"', "a UTF-16 surrogate is not UTF-8");
  });

  it("goAtoi - values and errors like strconv.Atoi on 64-bit", () => {
    const a = (s: string) => goAtoi(Buffer.from(s));
    assert.deepEqual(a("42"), { value: 42 });
    assert.deepEqual(a("+7"), { value: 7 });
    assert.deepEqual(a("-5"), { value: -5 });
    assert.deepEqual(a("007"), { value: 7 });
    assert.deepEqual(a("abc"), { error: 'strconv.Atoi: parsing "abc": invalid syntax' });
    assert.deepEqual(a(""), { error: 'strconv.Atoi: parsing "": invalid syntax' });
    assert.deepEqual(a("1.5"), { error: 'strconv.Atoi: parsing "1.5": invalid syntax' });
    assert.deepEqual(a(" 1"), { error: 'strconv.Atoi: parsing " 1": invalid syntax' });
    assert.deepEqual(a("9223372036854775807"), { value: Number(9223372036854775807n) });
    assert.deepEqual(a("9223372036854775808"), {
      error: 'strconv.Atoi: parsing "9223372036854775808": value out of range',
    });
  });

  it("goAtoi - plain digit strings of every length give BigInt's value", () => {
    for (let len = 1; len <= 18; len++) {
      for (const digit of ["0", "1", "9"]) {
        const s = digit.repeat(len);
        assert.deepEqual(goAtoi(Buffer.from(s)), { value: Number(BigInt(s)) }, s);
        assert.deepEqual(goAtoi(Buffer.from(`8${s}`.slice(0, len))), { value: Number(BigInt(`8${s}`.slice(0, len))) });
      }
    }
    assert.deepEqual(goAtoi(Buffer.from("12a")), { error: 'strconv.Atoi: parsing "12a": invalid syntax' });
    assert.deepEqual(goAtoi(Buffer.from("-0")), { value: 0 });
  });
});
