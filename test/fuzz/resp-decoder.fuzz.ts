/** The okQ RESP decoder: any bytes, any chunking. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  ARG_OVERHEAD_BYTES,
  argumentBytes,
  RespDecoder,
  type RespDecoderLimits,
  type RespEvent,
} from "../../src/bridges/okq/resp-decoder.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { chunked, type Fuzzer, mutated } from "./fuzz-kit.js";

/** The session's limits for a 1 KiB message limit (small, so limits are reached often). */
const LIMITS: RespDecoderLimits = {
  maxBulkBytes: 1024 + 64,
  maxArrayLength: 64,
  maxCommandBytes: 2 * (1024 + 64),
  maxInlineBytes: 256,
  maxDepth: 8,
  argOverheadBytes: ARG_OVERHEAD_BYTES,
};

const FATAL_CODES = new Set([
  "BULK_LENGTH",
  "ARRAY_LENGTH",
  "COMMAND_TOO_LARGE",
  "INLINE_TOO_LARGE",
  "UNBALANCED_QUOTES",
  "EXPECTED_CRLF",
  "TOO_DEEP",
  "BAD_LINE",
  "CROSS_PROTOCOL",
]);

const hostileByte = fc.constantFrom(
  ..."*$+-:\r\n 0123456789-abcxPOSTGEHost\"'\\".split("").map((c) => c.charCodeAt(0)),
);
const validCommand = fc
  .array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 })
  .map((args) => new Uint8Array(encodeCommand(args.map((a) => Buffer.from(a)))));
const inline = fc
  .tuple(
    fc.constantFrom("PING", "QLPUSH q e v", "POST / HTTP/1.1", "Host: x", "get /", "ECHO \"a\\x41\" 'b'"),
    fc.constantFrom("\r\n", "\n"),
  )
  .map(([l, end]) => new Uint8Array(Buffer.from(`${l}${end}`)));
const piece = fc.oneof(
  { weight: 3, arbitrary: validCommand },
  { weight: 2, arbitrary: mutated(validCommand) },
  { weight: 1, arbitrary: inline },
  { weight: 1, arbitrary: fc.array(hostileByte, { maxLength: 64 }).map((a) => Uint8Array.from(a)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
);

function check(events: RespEvent[], decoder: RespDecoder): void {
  const fatal = events.findIndex((e) => e.type === "fatal");
  if (fatal !== -1) assert.equal(fatal, events.length - 1, "a fatal event is the last one");
  for (const e of events) {
    if (e.type === "fatal") assert.ok(FATAL_CODES.has(e.code), e.code);
    if (e.type !== "command") continue;
    assert.ok(e.args.length <= LIMITS.maxArrayLength, "argument count bounded");
    assert.ok(argumentBytes(e.args, LIMITS.argOverheadBytes) <= LIMITS.maxCommandBytes, "command size bounded");
  }
  const internal = decoder as unknown as { lineLength: number; bulkLength: number; commandBytes: number };
  assert.ok(internal.lineLength <= Math.max(LIMITS.maxInlineBytes, 64) + 1, "line buffer bounded");
  assert.ok(internal.bulkLength <= LIMITS.maxBulkBytes, "bulk buffer bounded");
  assert.ok(internal.commandBytes <= LIMITS.maxCommandBytes, "command buffer bounded");
}

export const respDecoderFuzzer: Fuzzer = {
  name: "resp-decoder",
  description:
    "okQ RESP decoder: valid, mutated, inline, HTTP and random byte pieces, cut anywhere; never throws, " +
    "one fatal event at most and last, stable fatal codes, every buffer within its limit, and valid " +
    "commands alone decode to themselves under any chunking",
  async start() {
    const cuts = fc.array(fc.nat(), { maxLength: 8 });
    const hostile = fc.record({
      kind: fc.constant("hostile" as const),
      pieces: fc.array(piece, { maxLength: 8 }),
      cuts,
    });
    const valid = fc.record({
      kind: fc.constant("valid" as const),
      commands: fc.array(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 6 }), { maxLength: 6 }),
      cuts,
    });
    const property = fc.property(fc.oneof(hostile, valid), (input) => {
      const d = new RespDecoder(LIMITS);
      if (input.kind === "hostile") {
        const bytes = Buffer.concat(input.pieces.map((p) => Buffer.from(p)));
        check(
          chunked(bytes, input.cuts).flatMap((c) => d.push(c)),
          d,
        );
        return;
      }
      const bytes = Buffer.concat(input.commands.map((c) => encodeCommand(c.map((a) => Buffer.from(a)))));
      const events = chunked(bytes, input.cuts).flatMap((c) => d.push(c));
      assert.deepEqual(
        events.map((e) => (e.type === "command" ? e.args.map((a) => a.toString("hex")) : e.type)),
        input.commands.map((c) => c.map((a) => Buffer.from(a).toString("hex"))),
      );
    });
    return { property, close: async () => {} };
  },
};
