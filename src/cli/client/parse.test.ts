import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidArgumentError } from "commander";
import { UsageError } from "./cli-error.js";
import { keyValueFlag, parseInteger, parseStart, parseTime, parseUint64 } from "./parse.js";
import { readAll, readLines } from "./read-input.js";

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

async function lines(input: AsyncIterable<Uint8Array>, max?: number): Promise<string[]> {
  const out: string[] = [];
  for await (const l of readLines(input, max)) out.push(Buffer.from(l).toString());
  return out;
}

describe("cli flag values", () => {
  it("cli - integers and uint64s are checked against their bounds", () => {
    assert.equal(parseInteger("7", "--priority", 0, 9), 7);
    assert.throws(() => parseInteger("10", "--priority", 0, 9), InvalidArgumentError);
    assert.throws(() => parseInteger("-1", "--x", 0, 9), /--x expects an integer from 0 to 9/);
    assert.throws(() => parseInteger("1.5", "--x", 0, 9), InvalidArgumentError);
    assert.equal(parseUint64("18446744073709551615", "--seq"), 2n ** 64n - 1n);
    assert.throws(() => parseUint64("18446744073709551616", "--seq"), /larger than 2\^64-1/);
    assert.throws(() => parseUint64("abc", "--seq"), InvalidArgumentError);
  });

  it("cli - key=value flags collect, keep '=' in values, refuse empty keys and repeats", () => {
    const parse = keyValueFlag("--attr");
    assert.deepEqual(parse("b=x=y", parse("a=1", undefined)), { a: "1", b: "x=y" });
    assert.deepEqual(parse("empty=", undefined), { empty: "" });
    assert.throws(() => parse("=v", undefined), /--attr expects key=value/);
    assert.throws(() => parse("novalue", undefined), /--attr expects key=value/);
    assert.throws(() => parse("a=2", { a: "1" }), /sets "a" twice/);
  });

  it("cli - times are ISO 8601, epoch ms or an age before now", () => {
    const now = Date.parse("2026-01-02T03:04:05.000Z");
    assert.equal(parseTime("2026-01-01T00:00:00Z", "--t", now).toISOString(), "2026-01-01T00:00:00.000Z");
    assert.equal(parseTime("1000", "--t", now).getTime(), 1000);
    assert.equal(parseTime("15m", "--t", now).getTime(), now - 15 * 60_000);
    assert.equal(parseTime("2d", "--t", now).getTime(), now - 2 * 86_400_000);
    assert.throws(() => parseTime("yesterday", "--t", now), /--t expects an ISO 8601 time/);
  });

  it("cli - --start takes earliest, latest, seq:N and time:T", () => {
    assert.deepEqual(parseStart("earliest"), { case: "earliest", value: true });
    assert.deepEqual(parseStart("seq:42"), { case: "seq", value: 42n });
    const t = parseStart("time:2026-01-01T00:00:00Z");
    assert.equal(t.case, "time");
    assert.throws(() => parseStart("seq:x"), InvalidArgumentError);
    assert.throws(() => parseStart("now"), /--start expects/);
  });
});

describe("cli input", () => {
  it("cli - --lines splits on LF (CRLF too), skips empty lines, at any chunk boundary", async () => {
    const text = "alpha\r\nbeta\n\ngamma\ndelta";
    const expected = ["alpha", "beta", "gamma", "delta"];
    assert.deepEqual(await lines(chunks(text)), expected);
    for (let i = 1; i < text.length; i++) {
      assert.deepEqual(await lines(chunks(text.slice(0, i), text.slice(i))), expected, `split at ${i}`);
    }
    assert.deepEqual(await lines(chunks(...text.split(""))), expected, "byte by byte");
  });

  it("cli - a line or a whole input over the limit is a usage error, not unbounded memory", async () => {
    await assert.rejects(
      lines(chunks("short\n", "x".repeat(20)), 10),
      (e) => e instanceof UsageError && /line 2/.test(e.message),
    );
    assert.deepEqual(await lines(chunks("0123456789\n"), 10), ["0123456789"]);
    await assert.rejects(readAll(chunks("12345", "67890", "x"), 10), /larger than 10 bytes/);
    assert.equal(Buffer.from(await readAll(chunks("ab", "cd"), 10)).toString(), "abcd");
  });
});
