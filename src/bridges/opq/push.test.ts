import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import type { Form } from "./form.js";
import { parseForm } from "./form.js";
import { goAtoi, pushMessage, singleValuedHeaders } from "./push.js";
import { replayRequest, replaySeq } from "./replay.js";

const req = (rawHeaders: string[]) => ({ rawHeaders }) as unknown as IncomingMessage;
const options = { maxAttributes: 100, urlAllowed: () => true };
const form = (pairs: [string, string][]): Form => {
  const f: Form = new Map();
  for (const [k, v] of pairs) f.set(k, [...(f.get(k) ?? []), v]);
  return f;
};

describe("opq push messages", () => {
  it("opq - Go's Atoi: optional sign, decimal digits, int64 range", () => {
    assert.deepEqual(
      [
        "0",
        "+7",
        "-3",
        "007",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "",
        " 1",
        "1.0",
        "0x1",
        "1_0",
      ].map(goAtoi),
      [
        0n,
        7n,
        -3n,
        7n,
        9223372036854775807n,
        undefined,
        -9223372036854775808n,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ],
    );
  });

  it("opq - the form: url-encoded body fields before the query's; multipart after; other types only the query", () => {
    const urlencoded = parseForm("a=q&b=q", "application/x-www-form-urlencoded; charset=UTF-8", Buffer.from("a=body"));
    assert.deepEqual(
      [...urlencoded],
      [
        ["a", ["body", "q"]],
        ["b", ["q"]],
      ],
    );
    const multipart = parseForm(
      "a=q",
      "multipart/form-data; boundary=X",
      Buffer.from('--X\r\nContent-Disposition: form-data; name="a"\r\n\r\nbody\r\n--X--\r\n'),
    );
    assert.deepEqual([...multipart], [["a", ["q", "body"]]]);
    assert.deepEqual([...parseForm("a=q", "text/plain", Buffer.from("a=ignored"))], [["a", ["q"]]]);
    // Go's ParseMultipartForm fails on these; OPQ ignored the error and kept the query's fields.
    for (const [type, bad] of [
      ["multipart/form-data; boundary=X", '--X\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end'],
      ["multipart/form-data", "a=b"],
    ]) {
      assert.deepEqual([...parseForm("a=q", type as string, Buffer.from(bad as string))], [["a", ["q"]]]);
    }
    assert.deepEqual([...parseForm("a=q", "", Buffer.from("a=ignored"))], [["a", ["q"]]]);
  });

  it("opq - headers: single-valued only, Go's canonical names, never framing or hop-by-hop ones", () => {
    const h = singleValuedHeaders(
      req([
        "host",
        "x",
        "user-agent",
        "ua",
        "X-TWICE",
        "1",
        "x-twice",
        "2",
        "content-length",
        "3",
        "expect",
        "100-continue",
        "x-my-header",
        "v",
        "Authorization",
        "Basic eA==",
        ":path",
        "/",
      ]),
      new Set(["authorization"]),
    );
    assert.deepEqual(h, [
      ["User-Agent", "ua"],
      ["X-My-Header", "v"],
    ]);
  });

  it("opq - attributes: target.url, form.<field> for single-valued fields, then header.<Name> until the broker's limit", () => {
    const m = pushMessage(
      form([
        ["topic", "t"],
        ["url", "http://x/"],
        ["dup", "1"],
        ["dup", "2"],
        ["caf\u00c3\u00a9", "\u00e2\u0082\u00ac"], // UTF-8 bytes of "café" and "€"
      ]),
      req(["User-Agent", "ua", "Accept", "*/*"]),
      { ...options, maxAttributes: 5 },
    );
    assert.deepEqual(m, {
      topic: "t",
      attributes: {
        "target.url": "http://x/",
        "form.topic": "t",
        "form.url": "http://x/",
        "form.café": "€",
        "header.User-Agent": "ua",
      },
    });
  });

  it("opq - a url sent twice: the first is the target, and url is no body field (OPQ sent only single-valued ones)", () => {
    const m = pushMessage(
      form([
        ["topic", "t"],
        ["url", "http://first/"],
        ["url", "http://second/"],
      ]),
      req([]),
      options,
    );
    assert.deepEqual(m, { topic: "t", attributes: { "target.url": "http://first/", "form.topic": "t" } });
    const fields = Array.from({ length: 97 }, (_, i): [string, string] => [`f${i}`, "v"]);
    const full = pushMessage(form([["topic", "t"], ["url", "http://x/"], ...fields]), req([]), options);
    assert.equal("attributes" in full && Object.keys(full.attributes).length, 100, "99 fields and the target fit");
  });

  it("opq - refusals: OPQ's dump for its own checks, a reason for Switchyard's", () => {
    const fields = Array.from({ length: 101 }, (_, i): [string, string] => [`f${i}`, "v"]);
    const cases: [[string, string][], string][] = [
      [[["url", "http://x/"]], "url=http%3A%2F%2Fx%2F"],
      [
        [
          ["topic", "t"],
          ["url", "mailto:a@b"],
        ],
        "topic=t&url=mailto%3Aa%40b",
      ],
      [
        [
          ["topic", "\u00ff"],
          ["url", "http://x/"],
        ],
        "topic is not valid UTF-8",
      ],
      [[["topic", "t"], ["url", "http://x/"], ...fields.slice(0, 98)], "more than 99 form fields"],
    ];
    for (const [pairs, refused] of cases) assert.deepEqual(pushMessage(form(pairs), req([]), options), { refused });
    assert.deepEqual(
      pushMessage(
        form([
          ["topic", "t"],
          ["url", "http://blocked/"],
        ]),
        req([]),
        { ...options, urlAllowed: () => false },
      ),
      { refused: "url host blocked is not in the broker's push-allowed-hosts" },
    );
  });

  it("opq - replay: topic and cmd in OPQ's order; cmd is a 0-based index, past the end or negative goes to the next seq", () => {
    assert.deepEqual(replayRequest(form([["cmd", "1"]])), { refused: "bad-request" });
    assert.deepEqual(replayRequest(form([["topic", "t"]])), { refused: "bad-request" });
    assert.deepEqual(
      replayRequest(
        form([
          ["topic", "t"],
          ["cmd", "x"],
        ]),
      ),
      { refused: "bad-request" },
    );
    assert.deepEqual(
      replayRequest(
        form([
          ["topic", "t"],
          ["cmd", "-2"],
          ["cmd", "5"],
        ]),
      ),
      { topic: "t", cmd: -2n },
    );
    assert.deepEqual(
      [0n, 2n, 9n, 10n, 11n, -1n].map((cmd) => replaySeq(cmd, 10n)),
      [1n, 3n, 10n, 11n, 11n, 11n],
    );
    assert.equal(replaySeq(0n, 0n), 1n);
  });
});
