import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BodyHead, bindBody, bindJsonText } from "./bind.js";
import { goQueryHasKey, goQueryParses, parseMediaType } from "./go-query.js";
import { wantsPretty } from "./http-io.js";

const fields = ["subject"] as const;
const EMPTY = { subject: "" };
const multipartHead = (body: string, boundary = "XyZ", rawQuery = ""): [BodyHead, Buffer] => [
  { contentType: `multipart/form-data; boundary=${boundary}`, contentLength: Buffer.byteLength(body), rawQuery },
  Buffer.from(body, "latin1"),
];
const multipart = (body: string, boundary?: string, rawQuery?: string) =>
  bindBody(...multipartHead(body, boundary, rawQuery), fields);
const form = (body: string, rawQuery = "", contentType = "application/x-www-form-urlencoded") =>
  bindBody({ contentType, contentLength: Buffer.byteLength(body), rawQuery }, Buffer.from(body, "latin1"), fields);

describe("gophermq bind - forms as Go reads them", () => {
  it("gophermq bind - a multipart body Go reads binds nothing (no form tags)", () => {
    const good = [
      "--XyZ--\r\n",
      "--XyZ--",
      "preamble line\r\nanother\r\n--XyZ--\r\nepilogue is never read",
      '--XyZ\r\nContent-Disposition: form-data; name="subject"\r\n\r\nignored\r\n--XyZ--\r\n',
      '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--XyZ\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\nContent-Type: text/plain\r\n\r\n--XyZx\r\n\r\n--XyZ  \r\n\r\n\r\n--XyZ--',
      // Bare LF line ends, switched to by the first boundary line.
      '--XyZ\nContent-Disposition: form-data; name="a"\n\nv\n--XyZ--\n',
      // A part with no header at all, and one whose content starts right at a boundary.
      "--XyZ\r\n\r\nx\r\n--XyZ\r\n\r\n--XyZ--\r\n",
      // A folded header line, a space before the colon, an empty name (skipped).
      "--XyZ\r\nContent-Disposition: form-data;\r\n name=a\r\nX-Y : z\r\n: empty name\r\n\r\nv\r\n--XyZ--\r\n",
    ];
    for (const body of good) assert.deepEqual(multipart(body), EMPTY, JSON.stringify(body));
    assert.deepEqual(multipart("--a b--\r\n", '"a b"'), EMPTY, "a quoted boundary");
  });

  it("gophermq bind - a multipart body Go cannot read is request's body is invalid", () => {
    const bad = [
      "no boundary anywhere",
      "--XyZ\r\n", // no header, no closing boundary
      "--XyZ\r\n\r\ncontent that never ends",
      "--XyZ\r\n\r\ncontent\r\n--XyZ", // a part, then the end of the body instead of --XyZ--
      '--XyZ\r\nContent-Disposition: form-data; name="a"\r\n\r\nv\r\n--XyZ\r\n', // no closing boundary
      "--XyZ\r\n\r\nv\r\n--XyZ--x\r\n", // the boundary line goes on
      "--XyZ\r\n\r\nv\r\n--XyZ\r\ngarbage\r\n", // a header line without a colon
      "--XyZ\r\n Leading: space\r\n\r\nv\r\n--XyZ--\r\n",
      "--XyZ\r\nBad Name(): v\r\n\r\nv\r\n--XyZ--\r\n",
      "--XyZ\r\nName: a\u0001b\r\n\r\nv\r\n--XyZ--\r\n",
      "--XyZ\r\nName: v\r\n", // the header does not end
      "--XyZ\r\n\r\nv\r\n--XyZ-x\r\n--XyZ--\r\n", // a part ends at "--XyZ-", but that line is no boundary
      `${"x".repeat(4096)}\r\n--XyZ--\r\n`, // a preamble line longer than Go's 4096-byte buffer
    ];
    for (const body of bad) assert.equal(multipart(body), undefined, JSON.stringify(body.slice(0, 80)));
    assert.equal(multipart("--XyZ--\r\n", '""'), undefined, "an empty boundary");
    const [head] = multipartHead("");
    assert.equal(bindBody({ ...head, contentLength: -1 }, Buffer.alloc(0), fields), undefined, "an empty chunked body");
    const parts = "--XyZ\r\n\r\nv\r\n".repeat(1001);
    assert.equal(multipart(`${parts}--XyZ--\r\n`), undefined, "more than 1000 parts");
    assert.deepEqual(multipart(`${"--XyZ\r\n\r\nv\r\n".repeat(1000)}--XyZ--\r\n`), EMPTY, "1000 parts");
  });

  it("gophermq bind - multipart content types: a boundary is needed, and the type must parse", () => {
    const body = Buffer.from("--b--\r\n");
    const head = (contentType: string): BodyHead => ({ contentType, contentLength: body.length, rawQuery: "" });
    for (const ok of [
      "multipart/form-data; boundary=b",
      "multipart/form-data;boundary=b;",
      'multipart/form-data; BOUNDARY="b"; charset=utf-8',
    ]) {
      assert.deepEqual(bindBody(head(ok), body, fields), EMPTY, ok);
    }
    for (const bad of [
      "multipart/form-data",
      "multipart/form-data; boundary=",
      "multipart/form-data; boundary=b; boundary=c",
      "multipart/form-data x; boundary=b",
      "multipart/form-dataX; boundary=b",
      "multipart/form-data; boundary=b; ;x",
    ]) {
      assert.equal(bindBody(head(bad), body, fields), undefined, bad);
    }
  });

  it("gophermq bind - a form parses its body and the URL's query as Go's ParseForm does", () => {
    assert.deepEqual(form("subject=a&x=%41+b"), EMPTY);
    assert.deepEqual(form("subject=a", "pretty&y=1"), EMPTY);
    assert.deepEqual(form("a=%ff"), EMPTY, "any byte, valid UTF-8 or not");
    assert.equal(form("subject=a", "x=%zz"), undefined, "the query fails to parse");
    assert.equal(form("subject=a", "a=1;b=2"), undefined, "a semicolon in the query");
    assert.equal(form("a=%z"), undefined);
    assert.equal(form("a=1;b=2"), undefined);
    assert.equal(form("a", "", "application/x-www-form-urlencoded; =x"), undefined, "the type does not parse");
    // A type that only starts like a form: Go reads no body, but still the query.
    assert.deepEqual(form("a=%zz", "", "application/x-www-form-urlencodedX"), EMPTY);
    assert.equal(form("a=1", "%zz", "application/x-www-form-urlencodedX"), undefined);
    // Multipart parses the query too (ParseMultipartForm calls ParseForm first).
    assert.equal(multipart("--XyZ--\r\n", "XyZ", "x=%zz"), undefined);
    // Over Go's 10 MiB form limit.
    assert.equal(form("a".repeat(10 * 1024 * 1024 + 1)), undefined);
  });

  it("gophermq go-query - ParseQuery fails on ; and bad escapes; Query() keeps the pairs that decode", () => {
    assert.ok(goQueryParses("a=1&&b&c=%41+&d=%ff"));
    assert.ok(!goQueryParses("pretty=%zz&x=1"));
    assert.ok(!goQueryParses("x=1&a;b=1"));
    assert.ok(!goQueryParses("x=%4"));
    assert.ok(goQueryHasKey("a=1&pr%65tty=2", "pretty"));
    assert.ok(!goQueryHasKey("pretty=%zz&x=1", "pretty"));
    assert.deepEqual(parseMediaType(' Text/Plain ; charset="a\\"b" ;'), {
      type: "text/plain",
      params: new Map([["charset", 'a"b']]),
    });
    assert.equal(parseMediaType(""), undefined);
    assert.equal(parseMediaType("text/"), undefined);
    assert.equal(parseMediaType('text/plain; a="unterminated'), undefined);
  });

  it("gophermq http-io - ?pretty counts only when Go's URL.Query() keeps the pair", () => {
    for (const url of ["/api/fetch?pretty", "/api/fetch?x=1&pretty=", "/api/fetch?pretty=%ff", "/api/fetch?pre%74ty"]) {
      assert.ok(wantsPretty(url), url);
    }
    for (const url of ["/api/fetch", "/api/fetch?pretty=%zz", "/api/fetch?pretty;x", "/api/fetch?prettyx"]) {
      assert.ok(!wantsPretty(url), url);
    }
  });
});

describe("gophermq bind - nesting depth as Go's decoder", () => {
  const nested = (depth: number) => `{"a":${"[".repeat(depth - 1)}${"]".repeat(depth - 1)},"subject":"s"}`;

  it("gophermq bind - 10000 levels (the object included) bind; 10001 are an error, even in an ignored field", () => {
    assert.deepEqual(bindJsonText(nested(10_000), fields), { subject: "s" });
    assert.equal(bindJsonText(nested(10_001), fields), undefined);
    assert.equal(bindJsonText(nested(1_000_000), fields), undefined);
    const objects = (depth: number) => `{"a":${'{"b":'.repeat(depth - 1)}1${"}".repeat(depth - 1)},"subject":"s"}`;
    assert.deepEqual(bindJsonText(objects(10_000), fields), { subject: "s" });
    assert.equal(bindJsonText(objects(10_001), fields), undefined);
  });
});
