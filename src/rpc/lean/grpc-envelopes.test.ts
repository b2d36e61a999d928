import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { EnvelopeSplitter } from "./grpc-envelopes.js";

function envelope(data: Buffer, flags = 0, length = data.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = flags;
  head.writeUInt32BE(length, 1);
  return Buffer.concat([head, data]);
}

/** Feeds `bytes` split at `cut` (and, with `cut` 0, byte by byte); returns the envelopes' data. */
function split(bytes: Buffer, cut: number, readMaxBytes = 1024): string[] {
  const splitter = new EnvelopeSplitter(readMaxBytes);
  const chunks = cut === 0 ? [...bytes].map((b) => Buffer.from([b])) : [bytes.subarray(0, cut), bytes.subarray(cut)];
  const out: string[] = [];
  for (const chunk of chunks)
    for (const e of splitter.push(chunk)) out.push(`${e.flags}:${Buffer.from(e.data).toString()}`);
  splitter.end();
  return out;
}

describe("grpc envelope splitter", () => {
  const two = Buffer.concat([
    envelope(Buffer.from("hello")),
    envelope(Buffer.from(""), 1),
    envelope(Buffer.from("xyz")),
  ]);

  it("envelopes - whole, byte by byte and split at every boundary give the same envelopes", () => {
    const expected = ["0:hello", "1:", "0:xyz"];
    assert.deepEqual(split(two, two.length), expected);
    assert.deepEqual(split(two, 0), expected);
    for (let cut = 1; cut < two.length; cut++) assert.deepEqual(split(two, cut), expected, `cut at ${cut}`);
  });

  it("envelopes - a header announcing more than readMaxBytes fails before the bytes come", () => {
    const splitter = new EnvelopeSplitter(10);
    assert.throws(
      () => splitter.push(envelope(Buffer.alloc(0), 0, 11)),
      (e: unknown) =>
        e instanceof ConnectError && e.code === Code.ResourceExhausted && /message size 11/.test(e.message),
    );
  });

  it("envelopes - bytes left over at the end are an incomplete envelope; a bare header is not", () => {
    const partial = new EnvelopeSplitter(100);
    partial.push(envelope(Buffer.from("abc")).subarray(0, 6));
    assert.throws(
      () => partial.end(),
      (e: unknown) => e instanceof ConnectError && e.code === Code.InvalidArgument,
    );
    const header = new EnvelopeSplitter(100);
    assert.deepEqual(header.push(envelope(Buffer.alloc(0), 0, 3)), []);
    header.end();
  });
});
