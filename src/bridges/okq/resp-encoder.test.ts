/** The RESP reply encoder against golden bytes and against a naive reference encoder (property). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  array,
  bulk,
  encodeReplies,
  encodeReply,
  error,
  eventReply,
  int,
  map,
  NULL,
  type Reply,
  type RespVersion,
  simple,
} from "./resp-encoder.js";

/** The reference: each reply as bytes by string concatenation, written for this test only. */
function reference(r: Reply, v: RespVersion): Buffer {
  const text = (s: string) => Buffer.from(s, "utf8");
  const bulkOf = (d: Buffer) => Buffer.concat([text(`$${d.length}\r\n`), d, text("\r\n")]);
  switch (r.t) {
    case "simple":
      return text(`+${r.s.replace(/[\r\n]/g, " ")}\r\n`);
    case "error":
      return text(`-${r.s.replace(/[\r\n]/g, " ")}\r\n`);
    case "int":
      return text(`:${r.n}\r\n`);
    case "bulk":
      return bulkOf(typeof r.v === "string" ? text(r.v) : r.v);
    case "event":
      return Buffer.concat([text("*2\r\n"), bulkOf(text(r.id)), bulkOf(Buffer.from(r.data))]);
    case "null":
      return text(v === 3 ? "_\r\n" : "$-1\r\n");
    case "array":
      return Buffer.concat([text(`*${r.items.length}\r\n`), ...r.items.map((i) => reference(i, v))]);
    case "map":
      return Buffer.concat([
        text(v === 3 ? `%${r.entries.length}\r\n` : `*${r.entries.length * 2}\r\n`),
        ...r.entries.flatMap(([k, x]) => [reference(k, v), reference(x, v)]),
      ]);
  }
}

const replyArb: fc.Arbitrary<Reply> = fc.letrec<{ reply: Reply }>((tie) => ({
  reply: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "binary" }).map(simple),
    fc.string({ unit: "binary" }).map(error),
    fc.oneof(fc.integer(), fc.constantFrom(0, 1, 9, 10, 99, 100, -1)).map(int),
    fc.string({ unit: "binary" }).map(bulk),
    fc.uint8Array({ maxLength: 300 }).map((a) => bulk(Buffer.from(a))),
    fc.tuple(fc.string({ unit: "binary" }), fc.uint8Array({ maxLength: 1200 })).map(([id, d]) => eventReply(id, d)),
    fc.constant(NULL),
    fc.array(tie("reply"), { maxLength: 12 }).map(array),
    fc.array(fc.tuple(tie("reply"), tie("reply")), { maxLength: 4 }).map(map),
  ),
})).reply;

describe("okq resp encoder", () => {
  it("encoder - golden bytes of each kind (RESP2 and RESP3)", () => {
    const cases: Array<[Reply, string, string]> = [
      [simple("OK"), "+OK\r\n", "+OK\r\n"],
      [error("ERR a\r\nb"), "-ERR a  b\r\n", "-ERR a  b\r\n"],
      [int(0), ":0\r\n", ":0\r\n"],
      [int(-12), ":-12\r\n", ":-12\r\n"],
      [int(10), ":10\r\n", ":10\r\n"],
      [int(9_007_199_254_740_991), ":9007199254740991\r\n", ":9007199254740991\r\n"],
      [int(2 ** 60), `:${2 ** 60}\r\n`, `:${2 ** 60}\r\n`],
      [bulk("héllo"), "$6\r\nhéllo\r\n", "$6\r\nhéllo\r\n"],
      [bulk(Buffer.alloc(0)), "$0\r\n\r\n", "$0\r\n\r\n"],
      [NULL, "$-1\r\n", "_\r\n"],
      [eventReply("e1", Buffer.from("abc")), "*2\r\n$2\r\ne1\r\n$3\r\nabc\r\n", "*2\r\n$2\r\ne1\r\n$3\r\nabc\r\n"],
      [map([[bulk("k"), int(1)]]), "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n"],
    ];
    for (const [reply, two, three] of cases) {
      assert.equal(encodeReply(reply, 2).toString("utf8"), two);
      assert.equal(encodeReply(reply, 3).toString("utf8"), three);
    }
  });

  it("encoder - an event is byte for byte the array of its two bulk strings, whatever its size", () => {
    for (const n of [0, 9, 10, 99, 100, 1023, 1024, 65_536]) {
      const data = Buffer.alloc(n, 0x61);
      const id = `id-${"é".repeat(n % 7)}`;
      assert.deepEqual(encodeReply(eventReply(id, data)), encodeReply(array([bulk(id), bulk(data)])));
    }
  });

  it("encoder - property: any replies encode as the reference does, and a run as their concatenation", () => {
    fc.assert(
      fc.property(fc.array(replyArb, { maxLength: 8 }), fc.constantFrom<RespVersion>(2, 3), (replies, v) => {
        const expected = Buffer.concat(replies.map((r) => reference(r, v)));
        assert.deepEqual(encodeReplies(replies, v), expected);
      }),
      { numRuns: 500 },
    );
  });
});
