/** The line decoder: framing, the length limit, and the same events under any chunking. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { LineDecoder, type LineEvent } from "./line-decoder.js";

const lines = (events: LineEvent[]) =>
  events.map((e) => (e.type === "line" ? e.line.toString("latin1") : "<too-long>"));

function decodeInChunks(input: Buffer, cuts: number[], max: number): LineEvent[] {
  const d = new LineDecoder(max);
  const out: LineEvent[] = [];
  let at = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < input.length)].sort((a, b) => a - b)) {
    out.push(...d.push(input.subarray(at, cut)));
    at = cut;
  }
  out.push(...d.push(input.subarray(at)));
  return out;
}

describe("ohpq line decoder", () => {
  it("line decoder - splits on LF, drops a CR before it, keeps the rest", () => {
    const d = new LineDecoder(100);
    assert.deepEqual(lines(d.push(Buffer.from("A\r\nB\n\nC\rD\n\r\n\r\rE"))), ["A", "B", "", "C\rD", ""]);
    assert.deepEqual(lines(d.push(Buffer.from("\r\n"))), ["\r\rE"]);
  });

  it("line decoder - the limit counts the line without its terminator", () => {
    assert.deepEqual(lines(new LineDecoder(3).push(Buffer.from("abc\r\nabc\n"))), ["abc", "abc"]);
    assert.deepEqual(lines(new LineDecoder(3).push(Buffer.from("abcd\n"))), ["<too-long>"]);
    assert.deepEqual(lines(new LineDecoder(3).push(Buffer.from("abc\rd"))), ["<too-long>"]);
  });

  it("line decoder - a long line is refused before its end arrives, and nothing follows", () => {
    const d = new LineDecoder(4);
    assert.deepEqual(lines(d.push(Buffer.from("ok\nabc"))), ["ok"]);
    assert.equal(d.bufferedBytes, 3);
    assert.deepEqual(lines(d.push(Buffer.from("\r"))), [], "could still be abc\\r\\n");
    assert.deepEqual(lines(d.push(Buffer.from("de"))), ["<too-long>"]);
    assert.equal(d.failed, true);
    assert.deepEqual(lines(d.push(Buffer.from("\nPING\n"))), []);
    assert.deepEqual(lines(new LineDecoder(4).push(Buffer.from("abcde"))), ["<too-long>"]);
  });

  it("line decoder - any chunking gives the same events, and never buffers more than the limit + 1", () => {
    const text = fc.array(fc.constantFrom("a", "b", " ", "\r", "\n", "\r\n", "xyz"), { maxLength: 60 });
    fc.assert(
      fc.property(text, fc.array(fc.nat(200)), fc.integer({ min: 1, max: 8 }), (parts, cuts, max) => {
        const input = Buffer.from(parts.join(""));
        const whole = new LineDecoder(max).push(input);
        assert.deepEqual(lines(decodeInChunks(input, cuts, max)), lines(whole));
        const d = new LineDecoder(max);
        for (const b of input) {
          d.push(Buffer.of(b));
          assert.ok(d.bufferedBytes <= max + 1);
        }
      }),
      { numRuns: 500 },
    );
  });
});
