import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dispositionParams, MAX_PARTS, MultipartError, multipartBoundary, parseMultipart } from "./multipart.js";

function body(boundary: string, parts: string[], eol = "\r\n"): Buffer {
  return Buffer.from(
    `preamble${eol}${parts.map((p) => `--${boundary}${eol}${p}${eol}`).join("")}--${boundary}--${eol}`,
    "latin1",
  );
}

const field = (name: string, value: string, eol = "\r\n") =>
  `Content-Disposition: form-data; name="${name}"${eol}${eol}${value}`;

describe("opq multipart", () => {
  it("opq multipart - boundary from the content type, quoted or not; other types are not multipart", () => {
    assert.equal(multipartBoundary("multipart/form-data; boundary=abc"), "abc");
    assert.equal(multipartBoundary('Multipart/Form-Data; charset=x; boundary="a b:c"'), "a b:c");
    assert.equal(multipartBoundary("application/x-www-form-urlencoded"), undefined);
    assert.throws(() => multipartBoundary("multipart/form-data"), MultipartError);
  });

  it("opq multipart - fields in order, values byte for byte (CRLF and bare LF line ends)", () => {
    for (const eol of ["\r\n", "\n"]) {
      const b = body(
        "X",
        [
          field("url", "http://127.0.0.1/a?b=c", eol),
          field("topic", "comment", eol),
          field("message", "two\r\nlines --X not a boundary \u00e9\u00ff", eol),
          field("topic", "again", eol),
        ],
        eol,
      );
      assert.deepEqual(parseMultipart(b, "X"), [
        ["url", "http://127.0.0.1/a?b=c"],
        ["topic", "comment"],
        ["message", "two\r\nlines --X not a boundary \u00e9\u00ff"],
        ["topic", "again"],
      ]);
    }
  });

  it("opq multipart - file parts and parts without a name are skipped; an empty value is kept", () => {
    const b = body("B", [
      'Content-Disposition: form-data; name="f"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nfile body',
      "Content-Type: text/plain\r\n\r\nno name",
      field("empty", ""),
      'content-disposition: form-data; name="q\\"uoted"\r\n\r\nv',
    ]);
    assert.deepEqual(parseMultipart(b, "B"), [
      ["empty", ""],
      ['q"uoted', "v"],
    ]);
  });

  it("opq multipart - as Go: an empty filename is a value (an empty browser file field); only form-data parts count", () => {
    const b = body("B", [
      'Content-Disposition: form-data; name="upload"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n',
      "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt\r\n\r\nfile body",
      "Content-Disposition: form-data; name=\"g\"; filename*=UTF-8''\r\n\r\nvalue",
      'Content-Disposition: attachment; name="att"\r\n\r\nnot a form field',
      field("kept", "v"),
    ]);
    assert.deepEqual(parseMultipart(b, "B"), [
      ["upload", ""],
      ["g", "value"],
      ["kept", "v"],
    ]);
  });

  it("opq multipart - malformed bodies are errors", () => {
    assert.throws(() => parseMultipart(Buffer.from("no boundary here"), "B"), /no multipart boundary/);
    assert.throws(() => parseMultipart(Buffer.from(`--B\r\n${field("a", "1")}\r\n`), "B"), /does not end/);
    assert.throws(() => parseMultipart(Buffer.from("--B\r\nContent-Disposition: x"), "B"), /headers do not end/);
    const many = body(
      "B",
      Array.from({ length: MAX_PARTS + 1 }, (_, i) => field(`f${i}`, "v")),
    );
    assert.throws(() => parseMultipart(many, "B"), /more than 1000 multipart parts/);
  });

  it("opq multipart - Content-Disposition parameters", () => {
    const p = dispositionParams('form-data; name="a;b"; filename=x.txt; NAME="ignored"');
    assert.equal(p.get("name"), "a;b");
    assert.equal(p.get("filename"), "x.txt");
  });
});
