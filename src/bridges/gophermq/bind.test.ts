import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bindBody, bindJsonText } from "./bind.js";
import { decodeUtf8LikeGo } from "./go-utf8.js";
import { badSubject } from "./subject.js";

const JSON_HEAD = { contentType: "application/json", contentLength: 10, rawQuery: "" };
const bind = (text: string) => bindJsonText(text, ["subject", "data"] as const);

describe("gophermq bind", () => {
  it("gophermq bind - objects bind string fields, case-insensitively, the last member winning", () => {
    assert.deepEqual(bind('{"subject":"a","data":"b"}'), { subject: "a", data: "b" });
    assert.deepEqual(bind(' \n{"SuBjEcT":"a","DATA":"x","data":"y"}'), { subject: "a", data: "y" });
    // Go folds U+017F (long s) and U+212A (Kelvin) onto s and k.
    assert.deepEqual(bind('{"\u017fubject":"a"}'), { subject: "a", data: "" });
    assert.deepEqual(bind('{"subject":null,"other":[1,{"x":true}],"id":5}'), { subject: "", data: "" });
    assert.deepEqual(bind("{}"), { subject: "", data: "" });
    assert.deepEqual(bind("null"), { subject: "", data: "" });
    // Only the first value is read: what follows it is never looked at.
    assert.deepEqual(bind('{"subject":"a"}{garbage'), { subject: "a", data: "" });
    assert.deepEqual(bind("nullx"), { subject: "", data: "" });
  });

  it("gophermq bind - type mismatches, syntax errors and non-objects fail", () => {
    for (const text of [
      '{"subject":5}',
      '{"subject":"a","subject":5}',
      '{"data":true}',
      '{"data":{}}',
      '["a"]',
      '"a"',
      "5",
      "true",
      "",
      "   ",
      "{",
      '{"subject":"a",}',
      '{"subject" "a"}',
      '{"subject":"a" "data":"b"}',
      '{"subject":tru}',
      '{"subject":"\\x"}',
      '{"subject":"a\u0001"}',
      "\ufeff{}",
      "nul",
    ]) {
      assert.equal(bind(text), undefined, text);
    }
  });

  it("gophermq bind - lone surrogate escapes and invalid UTF-8 become U+FFFD, one per byte", () => {
    assert.deepEqual(bind('{"data":"a\\ud800b"}'), { subject: "", data: "a\ufffdb" });
    assert.deepEqual(bind('{"data":"\\ud83d\\ude00"}'), { subject: "", data: "😀" });
    assert.equal(decodeUtf8LikeGo(Buffer.from([0x61, 0xe2, 0x82, 0x62])), "a\ufffd\ufffdb");
    assert.equal(decodeUtf8LikeGo(Buffer.from("é")), "é");
  });

  it("gophermq bind - framing and content type as Echo's binder", () => {
    const body = Buffer.from('{"subject":"a"}');
    const fields = ["subject"] as const;
    assert.deepEqual(bindBody({ contentType: "", contentLength: 0, rawQuery: "" }, Buffer.alloc(0), fields), {
      subject: "",
    });
    assert.deepEqual(bindBody(JSON_HEAD, body, fields), { subject: "a" });
    assert.deepEqual(bindBody({ ...JSON_HEAD, contentType: "application/json; charset=UTF-8" }, body, fields), {
      subject: "a",
    });
    assert.equal(bindBody({ ...JSON_HEAD, contentType: "text/plain" }, body, fields), undefined);
    assert.equal(bindBody({ ...JSON_HEAD, contentType: "" }, body, fields), undefined);
    assert.equal(bindBody({ ...JSON_HEAD, contentType: "application/xml" }, body, fields), undefined);
    // Chunked (length unknown) and empty: the decoder meets the end at once.
    assert.equal(bindBody({ ...JSON_HEAD, contentLength: -1 }, Buffer.alloc(0), fields), undefined);
    const form = { contentType: "application/x-www-form-urlencoded", contentLength: 9, rawQuery: "" };
    assert.deepEqual(bindBody(form, Buffer.from("subject=a"), fields), { subject: "" });
    assert.equal(bindBody(form, Buffer.from("a=1;b=2"), fields), undefined);
    assert.equal(bindBody(form, Buffer.from("a=%zz"), fields), undefined);
    const multipart = { contentType: "multipart/form-data; boundary=x", contentLength: 9, rawQuery: "" };
    assert.deepEqual(bindBody(multipart, Buffer.from("--x--\r\n"), fields), { subject: "" });
    assert.equal(bindBody({ ...multipart, contentType: "multipart/form-data" }, body, fields), undefined);
  });

  it("gophermq subject - spaces, tabs, CR, LF and empty tokens are invalid", () => {
    for (const bad of ["", ".", "a.", ".a", "a..b", "a b", "a\tb", "a\rb", "a\nb"]) assert.ok(badSubject(bad), bad);
    for (const good of ["a", "a.b.c", "orders-eu", "a*", ">", "ü.ß"]) assert.ok(!badSubject(good), good);
  });
});
