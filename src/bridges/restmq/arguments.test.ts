import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Arguments,
  argument,
  BadArgumentError,
  MAX_ARGUMENTS,
  parseFormBody,
  parseQueryString,
  pyStrip,
  unquote,
} from "./arguments.js";

const parse = (qs: string): Arguments => {
  const args: Arguments = new Map();
  parseQueryString(qs, args);
  return args;
};

describe("restmq arguments", () => {
  it("restmq - query strings split on & and ; as Python 2's parse_qs, blank values kept", () => {
    assert.deepEqual(
      [...parse("a=1&b=2;c=3&a=4&flag&empty=&&;")],
      [
        ["a", ["1", "4"]],
        ["b", ["2"]],
        ["c", ["3"]],
        ["flag", [""]],
        ["empty", [""]],
      ],
    );
  });

  it("restmq - + is a space, %XX decodes to UTF-8, a bad escape stays as it is", () => {
    assert.equal(argument(parse("v=a+b%20c"), "v"), "a b c");
    assert.equal(argument(parse("v=caf%C3%A9"), "v"), "café");
    assert.equal(argument(parse("v=100%25+sure%zz%4"), "v"), "100% sure%zz%4");
    assert.equal(argument(parse("n%61me=x"), "name"), "x");
    assert.equal(unquote("a+b"), "a+b", "paths keep their +");
    assert.throws(() => parse("v=%ff"), BadArgumentError);
  });

  it("restmq - the last value wins; control characters become spaces; Python's whitespace is stripped", () => {
    assert.equal(argument(parse("v=first&v=last"), "v"), "last");
    assert.equal(argument(parse("v=a%00b%08c%0Bd%1Fe"), "v"), "a b c\u000bd e");
    assert.equal(argument(parse("v=%20%09%0A%C2%A0%E3%80%80x y%E2%80%A8%1C"), "v"), "x y");
    assert.equal(argument(parse("v=%EF%BB%BFx"), "v"), "\ufeffx", "Python 2 does not strip a BOM");
    assert.equal(argument(parse("other=1"), "v"), undefined);
  });

  it("restmq - form bodies: url-encoded and multipart fields are added after the query's; JSON bodies are not read", async () => {
    const args = parse("v=query");
    await parseFormBody("application/x-www-form-urlencoded; charset=utf-8", Buffer.from("v=body&w=2"), args);
    assert.equal(argument(args, "v"), "body");
    const fd = new FormData();
    fd.set("m", "multi part");
    fd.set("file", new Blob(["file contents"]), "f.txt");
    const encoded = new Response(fd);
    const body = Buffer.from(await encoded.arrayBuffer());
    await parseFormBody(encoded.headers.get("content-type") ?? "", body, args);
    assert.equal(argument(args, "m"), "multi part");
    assert.equal(argument(args, "file"), undefined, "file parts are no arguments");
    await parseFormBody("application/json", Buffer.from('{"v":"json"}'), args);
    assert.equal(argument(args, "v"), "body");
    await parseFormBody("multipart/form-data; boundary=x", Buffer.from("garbage"), args);
    assert.equal(argument(args, "v"), "body", "a broken multipart body adds nothing");
  });

  it("restmq - stripping is linear: a long run of spaces inside a value is kept, and read at most twice", () => {
    const n = 500_000;
    const inner = `a${" ".repeat(n)}b`;
    let work = 0;
    const text = `${" ".repeat(n)}${inner}${"\u3000".repeat(n)}`;
    const metered = {
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
    assert.equal(pyStrip(metered), inner);
    assert.ok(work <= 2 * text.length, `work ${work} for ${text.length} characters`);
    // The regular expression this replaced backtracked quadratically over the inner run.
    assert.equal(argument(parse(`v=${encodeURIComponent(inner)}`), "v"), inner);
  });

  it(`restmq - at most ${MAX_ARGUMENTS} arguments per request, query and form together; one more is refused`, async () => {
    const pairs = (k: number, name = "a") => Array.from({ length: k }, (_, i) => `${name}${i}=1`).join("&");
    assert.equal(parse(pairs(MAX_ARGUMENTS)).size, MAX_ARGUMENTS);
    assert.throws(() => parse(`${pairs(MAX_ARGUMENTS)}&x`), /more than 1000 arguments/);
    assert.throws(() => parse(`${pairs(MAX_ARGUMENTS)};x=1`), BadArgumentError, "; separates pairs too");
    assert.equal(parse(`${pairs(MAX_ARGUMENTS)}&&;;`).size, MAX_ARGUMENTS, "empty pairs do not count");

    const withQuery = parse(pairs(600, "q"));
    await assert.rejects(
      parseFormBody("application/x-www-form-urlencoded", Buffer.from(pairs(401, "b")), withQuery),
      BadArgumentError,
    );
    // 400,000 tiny fields: refused after the first thousand, without decoding the rest.
    const huge = Buffer.from(pairs(400_000));
    await assert.rejects(parseFormBody("application/x-www-form-urlencoded", huge, new Map()), BadArgumentError);

    const multipart = (k: number) =>
      Buffer.from(
        `${Array.from({ length: k }, (_, i) => `--xx\r\nContent-Disposition: form-data; name="m${i}"\r\n\r\n1\r\n`).join("")}--xx--\r\n`,
      );
    const fits = parse(pairs(400, "q"));
    await parseFormBody("multipart/form-data; boundary=xx", multipart(600), fits);
    assert.equal(fits.size, MAX_ARGUMENTS);
    await assert.rejects(
      parseFormBody('multipart/form-data; boundary="xx"', multipart(601), parse(pairs(400, "q"))),
      BadArgumentError,
    );
    await assert.rejects(
      parseFormBody("multipart/form-data; boundary=xx", multipart(100_000), new Map()),
      BadArgumentError,
    );
  });
});
