import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeQuery, parseQueryInto, queryEscape, queryUnescape } from "./query-encoding.js";

const bytes = (s: string) => Buffer.from(s, "utf8").toString("latin1");

describe("Go query encoding", () => {
  it("query - QueryEscape keeps only letters, digits and -_.~; spaces are +; hex is upper case", () => {
    assert.equal(queryEscape("aZ09-_.~"), "aZ09-_.~");
    assert.equal(queryEscape("this is message body"), "this+is+message+body");
    assert.equal(
      queryEscape("http://127.0.0.1/Comment/addComment?comment=nny&user=q18"),
      "http%3A%2F%2F127.0.0.1%2FComment%2FaddComment%3Fcomment%3Dnny%26user%3Dq18",
    );
    assert.equal(queryEscape("*!'()+,;$@"), "%2A%21%27%28%29%2B%2C%3B%24%40");
    assert.equal(queryEscape(bytes("é")), "%C3%A9");
    assert.equal(queryEscape("\u00ff\u0000"), "%FF%00"); // any bytes, valid UTF-8 or not
  });

  it("query - Values.Encode sorts keys by bytes and keeps each key's values in order", () => {
    const v = new Map([
      ["url", ["http://x"]],
      ["b", ["2", "1"]],
      ["B", ["upper"]],
      [bytes("é"), ["x"]],
      ["message", ["hi there"]],
    ]);
    assert.equal(encodeQuery(v), "B=upper&b=2&b=1&message=hi+there&url=http%3A%2F%2Fx&%C3%A9=x");
    assert.equal(encodeQuery(new Map()), "");
  });

  it("query - ParseQuery: + is a space, %XX a byte, pairs with a bad escape and empty pairs are skipped", () => {
    const m = new Map<string, string[]>();
    parseQueryInto(m, "a=1&&b=x+y&a=2&bad=%zz&c&=v&d=%e9&e=a=b");
    assert.deepEqual(
      [...m],
      [
        ["a", ["1", "2"]],
        ["b", ["x y"]],
        ["c", [""]],
        ["", ["v"]],
        ["d", ["\u00e9"]],
        ["e", ["a=b"]],
      ],
    );
    parseQueryInto(m, "a=3");
    assert.deepEqual(m.get("a"), ["1", "2", "3"]);
  });

  it("query - QueryUnescape refuses a truncated escape", () => {
    assert.equal(queryUnescape("%4"), undefined);
    assert.equal(queryUnescape("%"), undefined);
    assert.equal(queryUnescape("%41%42"), "AB");
  });

  it("query - every byte string survives escape then unescape", () => {
    let all = "";
    for (let b = 0; b < 256; b++) all += String.fromCharCode(b);
    assert.equal(queryUnescape(queryEscape(all)), all);
  });
});
