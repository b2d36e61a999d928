/** Tokens, PUB's message and the payload of MESSAGE lines (README "Oh, Please Queue" bridge). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { encodePayload, messageLine, parseMessage, splitToken, tokens } from "./text-format.js";

const b = (s: string) => Buffer.from(s, "latin1");
const s = (x: Buffer) => x.toString("latin1");

describe("ohpq text format", () => {
  it("text format - tokens split on runs of spaces only", () => {
    assert.deepEqual(tokens(b("  a  b\tc   d ")).map(s), ["a", "b\tc", "d"]);
    assert.deepEqual(tokens(b("   ")), []);
    const split = splitToken(b("  q   hello  world  ")) as { token: Buffer; rest: Buffer };
    assert.equal(s(split.token), "q");
    assert.equal(s(split.rest), "hello  world  ");
  });

  it("text format - PUB's message: quoted with escapes, else the text as it is", () => {
    const cases: [string, string][] = [
      ["hello world", "hello world"],
      ['"Hello, world!"', "Hello, world!"],
      ['"a\\"b\\\\c\\nd\\re\\tf"', 'a"b\\c\nd\re\tf'],
      ['"kept \\x"', "kept \\x"],
      ['"trailing"   ', "trailing"],
      ['"a" b', '"a" b'],
      ['"open', '"open'],
      ['"ends with backslash\\"', '"ends with backslash\\"'],
      ['""', ""],
      ['not "quoted"', 'not "quoted"'],
    ];
    for (const [input, want] of cases) assert.equal(s(parseMessage(b(input))), want, input);
  });

  it("text format - payloads are raw unless they have control characters or start with a quote", () => {
    assert.equal(s(encodePayload(b('plain text, even \\ and "'))), 'plain text, even \\ and "');
    assert.equal(s(encodePayload(b('"starts'))), '"\\"starts"');
    assert.equal(s(encodePayload(b("a\nb\r\tc\\d\x00e\x7f"))), '"a\\nb\\r\\tc\\\\d\x00e\x7f"');
    assert.equal(s(encodePayload(b(""))), "");
    assert.equal(s(encodePayload(b("caf\xc3\xa9"))), "caf\xc3\xa9");
    assert.equal(s(messageLine("q", b("x y"))), "MESSAGE q x y\n");
  });

  it("text format - every payload makes one line, and PUB reads it back as the same bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
        const encoded = encodePayload(data);
        assert.equal(encoded.includes(0x0a), false, "no LF");
        assert.equal(encoded.length > 0 && encoded[encoded.length - 1] === 0x0d, false, "no CR at the end");
        assert.deepEqual(parseMessage(encoded), Buffer.from(data));
      }),
      { numRuns: 1000 },
    );
  });
});
