import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PyNumber, pyFloatRepr, pyJson, pyJsonString, pyRepr } from "./py-json.js";

describe("restmq py-json", () => {
  it("restmq - strings are written as Python 2's json.dumps with ensure_ascii", () => {
    assert.equal(pyJsonString("plain"), '"plain"');
    assert.equal(pyJsonString('q"b\\s'), '"q\\"b\\\\s"');
    assert.equal(pyJsonString("\n\r\t\b\f"), '"\\n\\r\\t\\b\\f"');
    assert.equal(pyJsonString("\u0000\u001f\u007f"), '"\\u0000\\u001f\\u007f"');
    assert.equal(pyJsonString("é€"), '"\\u00e9\\u20ac"');
    assert.equal(pyJsonString("😀"), '"\\ud83d\\ude00"', "astral characters as a surrogate pair, lowercase hex");
    assert.equal(pyJsonString("~ /"), '"~ /"');
  });

  it("restmq - cyclone's json_encode escapes </ everywhere, separators are ', ' and ': '", () => {
    assert.equal(
      pyJson({ a: "</script>", b: [1, null, true, false] }),
      '{"a": "<\\/script>", "b": [1, null, true, false]}',
    );
    assert.equal(
      pyJson(
        new Map([
          ["2", 1],
          ["1", 2],
        ]),
      ),
      '{"2": 1, "1": 2}',
      "a Map keeps its order, numeric keys too",
    );
    assert.equal(pyJson({ n: new PyNumber("007") }), '{"n": 007}');
    assert.equal(pyJson([]), "[]");
    assert.equal(pyJson({}), "{}");
  });

  it("restmq - floats print as Python 2.7's repr", () => {
    const cases: [number, string][] = [
      [3.14, "3.14"],
      [1500, "1500.0"],
      [0.5, "0.5"],
      [1e16, "1e+16"],
      [1.5e16, "1.5e+16"],
      [123456789012345680, "1.2345678901234568e+17"],
      [9999999999999998, "9999999999999998.0"],
      [0.0001, "0.0001"],
      [0.00001, "1e-05"],
      [1.5e-7, "1.5e-07"],
      [0.1 + 0.2, "0.30000000000000004"],
      [-2.5, "-2.5"],
      [-0, "-0.0"],
      [0, "0.0"],
      [1e308 * 10, "Infinity"],
      [Number.NaN, "NaN"],
      [1e-300, "1e-300"],
    ];
    for (const [x, repr] of cases) assert.equal(pyFloatRepr(x), repr, String(x));
  });

  it("restmq - repr writes Python 2 dicts and byte strings", () => {
    assert.equal(
      pyRepr({ a: 1, b: "", c: "it's", d: 'say "hi"', e: "both ' \"" }),
      `{'a': 1, 'b': '', 'c': "it's", 'd': 'say "hi"', 'e': 'both \\' "'}`,
    );
    assert.equal(pyRepr({ "é\n": "\t\\" }), "{'\\xc3\\xa9\\n': '\\t\\\\'}");
    assert.equal(pyRepr(new Map([["q", { status: 1, policy: "" }]])), "{'q': {'status': 1, 'policy': ''}}");
  });
});
