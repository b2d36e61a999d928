import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { goJsonBody, goJsonString } from "./go-json.js";

const str = (bytes: number[] | string) =>
  goJsonString(typeof bytes === "string" ? Buffer.from(bytes) : Buffer.from(bytes));

describe("gophermq go-json", () => {
  it("gophermq go-json - escapes as Go's encoder with HTML escaping", () => {
    assert.equal(str('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(str("<>&"), '"\\u003c\\u003e\\u0026"');
    assert.equal(str("\n\r\t"), '"\\n\\r\\t"');
    // Other control characters (\b and \f included, as Go before 1.22) as \u00XX, lower-case hex.
    assert.equal(str([0x00, 0x08, 0x0c, 0x1f]), '"\\u0000\\u0008\\u000c\\u001f"');
    assert.equal(str([0x7f]), '"\u007f"');
    assert.equal(str("\u2028\u2029"), '"\\u2028\\u2029"');
    assert.equal(str("é😀 ok"), '"é😀 ok"');
  });

  it("gophermq go-json - every byte of invalid UTF-8 is \\ufffd, as utf8.DecodeRune reads it", () => {
    assert.equal(str([0xff]), '"\\ufffd"');
    // A truncated 3-byte sequence: two bytes, two replacements (WHATWG would give one).
    assert.equal(str([0xe2, 0x82, 0x41]), '"\\ufffd\\ufffdA"');
    // Overlong and surrogate encodings are invalid too.
    assert.equal(str([0xc0, 0xaf]), '"\\ufffd\\ufffd"');
    assert.equal(str([0xed, 0xa0, 0x80]), '"\\ufffd\\ufffd\\ufffd"');
    assert.equal(str([0xf4, 0x90, 0x80, 0x80]), '"\\ufffd\\ufffd\\ufffd\\ufffd"');
    // A literal U+FFFD is valid UTF-8 and stays as it is.
    assert.equal(str("\ufffd"), '"\ufffd"');
  });

  it("gophermq go-json - bodies: sorted keys, [] for empty lists, one newline; pretty as SetIndent with two spaces", () => {
    assert.equal(goJsonBody({ subject: "s", id: "i" }).toString(), '{"id":"i","subject":"s"}\n');
    assert.equal(goJsonBody({ data: [], id: "i" }).toString(), '{"data":[],"id":"i"}\n');
    assert.equal(
      goJsonBody({ subject: "s", data: ["a", Buffer.from("b")], id: "i" }, true).toString(),
      '{\n  "data": [\n    "a",\n    "b"\n  ],\n  "id": "i",\n  "subject": "s"\n}\n',
    );
    assert.equal(goJsonBody({ data: [] }, true).toString(), '{\n  "data": []\n}\n');
  });
});
