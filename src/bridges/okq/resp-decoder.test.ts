/** The RESP decoder: every case whole, byte by byte and split at every boundary; property tests. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { splitInline } from "./inline.js";
import {
  ARG_OVERHEAD_BYTES,
  argumentBytes,
  RespDecoder,
  type RespDecoderLimits,
  type RespEvent,
} from "./resp-decoder.js";
import { encodeCommand } from "./resp-encoder.js";

const LIMITS: RespDecoderLimits = {
  maxBulkBytes: 64,
  maxArrayLength: 8,
  maxCommandBytes: 100,
  maxInlineBytes: 32,
  maxDepth: 4,
  // The byte limits alone; the per-argument overhead has its own cases below.
  argOverheadBytes: 0,
};

/** Events as plain data: commands as arrays of latin1 strings. */
type Plain = string[] | string;

function plain(events: RespEvent[]): Plain[] {
  return events.map((e) =>
    e.type === "command"
      ? e.args.map((a) => a.toString("latin1"))
      : e.type === "invalid"
        ? "invalid"
        : `fatal:${e.code}`,
  );
}

function decodeChunks(chunks: Buffer[], limits = LIMITS): Plain[] {
  const d = new RespDecoder(limits);
  return chunks.flatMap((c) => plain(d.push(c)));
}

const cases: Array<[name: string, input: string, expected: Plain[]]> = [
  ["one command", "*1\r\n$4\r\nPING\r\n", [["PING"]]],
  ["pipelined commands", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", [["PING"], ["ECHO", "hi"]]],
  ["binary-safe bulk with CRLF inside", "*2\r\n$1\r\nX\r\n$4\r\na\r\nb\r\n", [["X", "a\r\nb"]]],
  ["empty bulk", "*2\r\n$1\r\nX\r\n$0\r\n\r\n", [["X", ""]]],
  ["empty array is an empty command", "*0\r\n", [[]]],
  ["null array is ignored", "*-1\r\n*1\r\n$1\r\nA\r\n", [["A"]]],
  ["top-level simple string is ignored", "+PING\r\n*1\r\n$1\r\nA\r\n", [["A"]]],
  ["top-level integer and error are ignored", ":5\r\n-ERR x\r\n*1\r\n$1\r\nB\r\n", [["B"]]],
  ["top-level bulk is ignored", "$3\r\nfoo\r\n*1\r\n$1\r\nC\r\n", [["C"]]],
  ["integer element makes the command invalid", "*2\r\n$4\r\nQACK\r\n:5\r\n*1\r\n$1\r\nD\r\n", ["invalid", ["D"]]],
  ["simple-string element makes it invalid", "*1\r\n+PING\r\n", ["invalid"]],
  ["null bulk element makes it invalid", "*2\r\n$1\r\nX\r\n$-1\r\n", ["invalid"]],
  ["nested array makes it invalid", "*2\r\n$1\r\nX\r\n*2\r\n$1\r\na\r\n:1\r\n*1\r\n$1\r\nE\r\n", ["invalid", ["E"]]],
  ["inline command", "PING\r\n", [["PING"]]],
  ["inline with LF only and blanks", "  ECHO   hi \n", [["ECHO", "hi"]]],
  ["inline quoted arguments", "ECHO \"a b\\n\\x41\" 'c\\'d'\r\n", [["ECHO", "a b\nA", "c'd"]]],
  ["empty inline lines are ignored", "\r\n\r\n*1\r\n$1\r\nF\r\n", [["F"]]],
  ["top-level simple line over the inline limit is fatal", `+${"a".repeat(80)}\r\n`, ["fatal:INLINE_TOO_LARGE"]],
  ["top-level simple line with LF only is ignored", "+OK\n*1\r\n$1\r\nH\r\n", [["H"]]],
  ["bulk too long is fatal", "*1\r\n$65\r\n", ["fatal:BULK_LENGTH"]],
  ["bad bulk length is fatal", "*1\r\n$x\r\n", ["fatal:BULK_LENGTH"]],
  ["negative bulk length other than -1 is fatal", "*1\r\n$-2\r\n", ["fatal:BULK_LENGTH"]],
  ["array too long is fatal", "*9\r\n", ["fatal:ARRAY_LENGTH"]],
  ["bad array length is fatal", "*1x\r\n", ["fatal:ARRAY_LENGTH"]],
  ["command bytes over the limit is fatal", `*3\r\n$50\r\n${"a".repeat(50)}\r\n$51\r\n`, ["fatal:COMMAND_TOO_LARGE"]],
  ["missing CRLF after bulk data is fatal", "*1\r\n$1\r\nAB\r\n", ["fatal:EXPECTED_CRLF"]],
  ["header ending in LF only is fatal", "*1\n", ["fatal:EXPECTED_CRLF"]],
  ["untyped line inside an array is fatal", "*2\r\n$1\r\nA\r\nB\r\n", ["fatal:BAD_LINE"]],
  ["inline line too long is fatal", `${"a".repeat(40)}\r\n`, ["fatal:INLINE_TOO_LARGE"]],
  ["unbalanced quotes are fatal", 'ECHO "abc\r\n', ["fatal:UNBALANCED_QUOTES"]],
  ["nesting too deep is fatal", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n", ["fatal:TOO_DEEP"]],
  ["overlong header line is fatal", `*${"1".repeat(80)}`, ["fatal:ARRAY_LENGTH"]],
  ["nothing after a fatal error", "*1\r\n$x\r\n*1\r\n$1\r\nA\r\n", ["fatal:BULK_LENGTH"]],
  ["commands before a fatal error are kept", "*1\r\n$1\r\nA\r\n*1\r\n$x\r\n", [["A"], "fatal:BULK_LENGTH"]],
];

describe("okq resp decoder", () => {
  for (const [name, input, expected] of cases) {
    const bytes = Buffer.from(input, "latin1");
    it(`decoder - ${name} (whole)`, () => {
      assert.deepEqual(decodeChunks([bytes]), expected);
    });
    it(`decoder - ${name} (byte by byte)`, () => {
      const chunks = [...bytes].map((b) => Buffer.of(b));
      assert.deepEqual(decodeChunks(chunks), expected);
    });
    it(`decoder - ${name} (split at every boundary)`, () => {
      for (let k = 0; k <= bytes.length; k++) {
        assert.deepEqual(decodeChunks([bytes.subarray(0, k), bytes.subarray(k)]), expected, `split at ${k}`);
      }
    });
  }

  it("decoder - long top-level simple, error and integer lines are skipped up to the inline limit", () => {
    const limits = { ...LIMITS, maxInlineBytes: 1000 };
    const long = "x".repeat(900);
    const input = Buffer.from(`+${long}\r\n-${long}\r\n:${long}\r\n*1\r\n$4\r\nPING\r\n`);
    assert.deepEqual(decodeChunks([input], limits), [["PING"]]);
    assert.deepEqual(
      decodeChunks(
        [...input].map((b) => Buffer.from([b])),
        limits,
      ),
      [["PING"]],
    );
  });

  it("decoder - an incomplete command yields nothing until the rest arrives", () => {
    const d = new RespDecoder(LIMITS);
    assert.deepEqual(plain(d.push(Buffer.from("*2\r\n$4\r\nECHO\r\n$2\r\nh"))), []);
    assert.deepEqual(plain(d.push(Buffer.from("i\r\n"))), [["ECHO", "hi"]]);
  });

  it("decoder - exactly at the limits is accepted", () => {
    const max = Buffer.alloc(64, 0x61);
    const input = encodeCommand(["X", max]);
    assert.deepEqual(decodeChunks([input]), [["X", max.toString("latin1")]]);
    const eight = encodeCommand(["1", "2", "3", "4", "5", "6", "7", "8"]);
    assert.equal(decodeChunks([eight]).length, 1);
    assert.deepEqual(decodeChunks([Buffer.from(`${"a".repeat(32)}\r\n`)]), [["a".repeat(32)]]);
  });

  it("decoder - property: any chunking of valid commands gives the same commands", () => {
    const arg = fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a));
    const command = fc.array(arg, { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(command, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (cmds, cuts) => {
          const bytes = Buffer.concat(cmds.map((c) => encodeCommand(c)));
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks: Buffer[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(bytes.subarray(prev, p));
            prev = p;
          }
          chunks.push(bytes.subarray(prev));
          const d = new RespDecoder({ ...LIMITS, maxBulkBytes: 1024, maxCommandBytes: 4096 });
          const got = chunks.flatMap((c) => d.push(c));
          assert.deepEqual(
            got.map((e) => (e.type === "command" ? e.args.map((a) => a.toString("hex")) : e.type)),
            cmds.map((c) => c.map((a) => a.toString("hex"))),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it("decoder - property: hostile input never throws, stops after a fatal event, and bounds what it buffers", () => {
    const hostileByte = fc.constantFrom(..."*$+-:\r\n 0123456789-abcx\"'\\".split("").map((c) => c.charCodeAt(0)));
    const hostile = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(hostileByte, { maxLength: 200 }).map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(fc.array(hostile, { minLength: 1, maxLength: 10 }), (chunks) => {
        const d = new RespDecoder(LIMITS);
        const events = chunks.flatMap((c) => d.push(Buffer.from(c)));
        const fatal = events.findIndex((e) => e.type === "fatal");
        if (fatal !== -1) assert.equal(fatal, events.length - 1, "a fatal event is the last one");
        for (const e of events) {
          if (e.type !== "command") continue;
          assert.ok(e.args.length <= LIMITS.maxArrayLength);
          for (const a of e.args) assert.ok(a.length <= LIMITS.maxInlineBytes + LIMITS.maxBulkBytes);
        }
        const internal = d as unknown as { lineLength: number; bulkLength: number };
        // A line is an inline command (limit maxInlineBytes) or a header (at most 64 bytes).
        assert.ok(internal.lineLength <= Math.max(LIMITS.maxInlineBytes, 64) + 1);
        assert.ok(internal.bulkLength <= LIMITS.maxBulkBytes);
      }),
      { numRuns: 500 },
    );
  });

  it("decoder - property: the whole-command fast path yields what byte-by-byte decoding yields, errors included", () => {
    // Commands that are nearly well-formed: lengths off by one, odd digits, missing CR or LF,
    // non-bulk elements, counts over the limits; fed whole (fast path) and one byte at a time
    // (the state machine only), the events must be the same.
    const token = fc.oneof(
      fc.constantFrom(
        "*",
        "$",
        ":",
        "+",
        "-",
        "\r\n",
        "\n",
        "\r",
        "0",
        "1",
        "2",
        "3",
        "9",
        "00",
        "-1",
        "65",
        "x",
        "ab",
      ),
      fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a).toString("latin1")),
    );
    const valid = fc
      .array(fc.oneof(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ minLength: 60, maxLength: 70 })), {
        minLength: 1,
        maxLength: 9,
      })
      .map((args) => encodeCommand(args.map((a) => Buffer.from(a))).toString("latin1"));
    const piece = fc.oneof(valid, valid, token);
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 12 }), (pieces) => {
        const input = Buffer.from(pieces.join(""), "latin1");
        const whole = decodeChunks([input]);
        const bytes = decodeChunks([...input].map((b) => Buffer.of(b)));
        assert.deepEqual(whole, bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it("decoder - fast path: arguments do not share memory with the socket's chunk", () => {
    const chunk = Buffer.concat([encodeCommand(["QACK", "q", "id-1"]), encodeCommand(["QRPOP", "q"])]);
    const [e, f] = new RespDecoder(LIMITS).push(chunk);
    assert.ok(e?.type === "command" && f?.type === "command");
    chunk.fill(0);
    assert.deepEqual(
      [...e.args, ...f.args].map((a) => a.toString()),
      ["QACK", "q", "id-1", "QRPOP", "q"],
    );
  });

  it("decoder - fast path: a pipeline's equal short arguments share one Buffer, each command its own array", () => {
    const long = "x".repeat(65);
    const chunk = Buffer.concat([
      encodeCommand(["QACK", "q", "id-1"]),
      encodeCommand(["QACK", "q", "id-2"]),
      encodeCommand(["QACK", "q", "id-2"]),
      encodeCommand(["QRPOP", "q"]),
      encodeCommand(["QLPUSH", "q", "e1", long]),
      encodeCommand(["QLPUSH", "q", "e2", long]),
    ]);
    const events = new RespDecoder({ ...LIMITS, maxCommandBytes: 1000, maxBulkBytes: 100 }).push(chunk);
    const [a, b, c, d, e, f] = events.map((x) => (x.type === "command" ? x.args : []));
    assert.ok(a && b && c && d && e && f);
    assert.deepEqual(
      events.map((x) => (x.type === "command" ? x.args.map((y) => y.toString()) : [])),
      [
        ["QACK", "q", "id-1"],
        ["QACK", "q", "id-2"],
        ["QACK", "q", "id-2"],
        ["QRPOP", "q"],
        ["QLPUSH", "q", "e1", long],
        ["QLPUSH", "q", "e2", long],
      ],
    );
    assert.notEqual(a, b);
    assert.equal(b[0], a[0]);
    assert.equal(b[1], a[1]);
    assert.notEqual(b[2], a[2]);
    assert.equal(c[2], b[2]);
    // Another count: nothing shared, though "q" is equal.
    assert.notEqual(d[1], c[1]);
    assert.equal(f[1], e[1]);
    // Past 64 bytes an argument is not compared: a view of its own.
    assert.notEqual(f[3], e[3]);
    assert.deepEqual(f[3], e[3]);
  });

  it("decoder - each argument counts its overhead against the command limit: empty arguments are not free", () => {
    const limits = { ...LIMITS, maxArrayLength: 100_000, maxCommandBytes: 10_000, argOverheadBytes: 256 };
    const empty = (n: number) => Buffer.from(`*${n}\r\n${"$0\r\n\r\n".repeat(n)}`);
    assert.deepEqual(decodeChunks([empty(39)], limits).length, 1, "39 × 256 bytes fit in 10,000");
    assert.deepEqual(decodeChunks([empty(40)], limits), ["fatal:COMMAND_TOO_LARGE"]);
    // The attack of issue 16: 65,536 empty arguments are refused, not decoded, with the default overhead.
    const d = new RespDecoder({ ...limits, maxArrayLength: 65_536, maxCommandBytes: 2 * 1024 * 1024 + 1 });
    assert.equal(ARG_OVERHEAD_BYTES >= 128, true);
    const huge = d.push(empty(65_536));
    assert.deepEqual(plain(huge), ["fatal:COMMAND_TOO_LARGE"]);
    // Inline commands too: 20 one-byte words cost 20 × (1 + 256) bytes.
    assert.deepEqual(
      decodeChunks([Buffer.from(`${"a ".repeat(20)}\r\n`)], { ...limits, maxInlineBytes: 1000, maxCommandBytes: 5000 }),
      ["fatal:COMMAND_TOO_LARGE"],
    );
    assert.equal(argumentBytes([Buffer.alloc(0), Buffer.alloc(3)], 256), 515);
  });

  it("decoder - an HTTP request line or Host: header is a cross-protocol attack: fatal, nothing after it decoded", () => {
    for (const line of [
      "POST / HTTP/1.1",
      "post /x HTTP/1.0",
      "GET / HTTP/1.1",
      "Host: 127.0.0.1:4777",
      "  POST /",
      "HOST: example",
    ]) {
      const input = Buffer.from(`${line}\r\nQFLUSH orders\r\n*2\r\n$6\r\nQFLUSH\r\n$6\r\norders\r\n`);
      assert.deepEqual(decodeChunks([input], { ...LIMITS, maxInlineBytes: 1000 }), ["fatal:CROSS_PROTOCOL"], line);
      assert.deepEqual(
        decodeChunks(
          [...input].map((b) => Buffer.of(b)),
          { ...LIMITS, maxInlineBytes: 1000 },
        ),
        ["fatal:CROSS_PROTOCOL"],
        `${line} (byte by byte)`,
      );
    }
    // Commands that merely start with those letters are commands.
    assert.deepEqual(decodeChunks([Buffer.from("POSTS a\r\nGETTER\r\nHostname\r\n")]), [
      ["POSTS", "a"],
      ["GETTER"],
      ["Hostname"],
    ]);
  });

  it("decoder - splitInline keeps quoted blanks and refuses a quote glued to the next word", () => {
    assert.deepEqual(
      splitInline(Buffer.from('a "b c" d'))?.map((b) => b.toString()),
      ["a", "b c", "d"],
    );
    assert.equal(splitInline(Buffer.from('a "b"c')), undefined);
  });
});
