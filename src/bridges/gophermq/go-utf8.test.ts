import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { goJsonString } from "./go-json.js";
import { decodeUtf8LikeGo } from "./go-utf8.js";

const MiB = 1024 * 1024;

/**
 * Runs `fn` and returns the work it did on buffers: how many buffers it allocated and their
 * bytes, and how many times it decoded bytes into a string. Counting, not timing: the numbers
 * are the same on a loaded machine.
 */
function work(fn: () => unknown): { allocations: number; allocatedBytes: number; decodes: number } {
  const alloc = mock.method(Buffer, "allocUnsafe");
  const decode = mock.method(Buffer.prototype, "toString");
  try {
    fn();
    return {
      allocations: alloc.mock.callCount(),
      allocatedBytes: alloc.mock.calls.reduce((n, c) => n + Number(c.arguments[0]), 0),
      decodes: decode.mock.callCount(),
    };
  } finally {
    alloc.mock.restore();
    decode.mock.restore();
  }
}

describe("gophermq strings at scale", () => {
  it("gophermq go-json - 1 MiB of '<' and 1 MiB of 0xff are written as Go writes them", () => {
    assert.equal(goJsonString(Buffer.alloc(MiB, 0x3c)), `"${"\\u003c".repeat(MiB)}"`);
    assert.equal(goJsonString(Buffer.alloc(MiB, 0xff)), `"${"\\ufffd".repeat(MiB)}"`);
    assert.equal(goJsonString(Buffer.alloc(MiB, 0x01)), `"${"\\u0001".repeat(MiB)}"`);
    const mixed = Buffer.concat([Buffer.from("é<"), Buffer.from([0xff]), Buffer.from("\u2028a")]);
    assert.equal(
      goJsonString(Buffer.concat(Array.from({ length: 1000 }, () => mixed))),
      `"${"é\\u003c\\ufffd\\u2028a".repeat(1000)}"`,
    );
  });

  it("gophermq bind - 1 MiB of 0xff decodes to one U+FFFD per byte", () => {
    assert.equal(decodeUtf8LikeGo(Buffer.alloc(MiB, 0xff)), "\ufffd".repeat(MiB));
    const mixed = Buffer.concat([
      Buffer.from("aé€"),
      Buffer.from([0xe2, 0x82]),
      Buffer.from("😀\u2028"),
      Buffer.from([0xc0]),
    ]);
    const many = Buffer.concat(Array.from({ length: 1000 }, () => mixed));
    assert.equal(decodeUtf8LikeGo(many), "aé€\ufffd\ufffd😀\u2028\ufffd".repeat(1000));
  });

  it("gophermq go-json - work is linear: one buffer sized to the output, one decode, whatever the bytes", () => {
    for (const byte of [0x3c, 0xff, 0x01, 0x61, 0x22]) {
      const small = work(() => goJsonString(Buffer.alloc(64 * 1024, byte)));
      const large = work(() => goJsonString(Buffer.alloc(128 * 1024, byte)));
      assert.equal(small.decodes, 1, `one decode of the output (byte ${byte})`);
      assert.equal(large.decodes, 1, `one decode of the output (byte ${byte})`);
      assert.ok(small.allocations <= 1 && large.allocations === small.allocations, `byte ${byte}`);
      // Twice the input, twice the bytes written (less the two quotes): no per-escape work on top.
      assert.equal(large.allocatedBytes - 2, 2 * (small.allocatedBytes - 2), `byte ${byte}`);
    }
  });

  it("gophermq bind - decoding work is linear: one buffer sized to the output, one decode", () => {
    for (const byte of [0xff, 0xe2, 0x61]) {
      const small = work(() => decodeUtf8LikeGo(Buffer.alloc(64 * 1024, byte)));
      const large = work(() => decodeUtf8LikeGo(Buffer.alloc(128 * 1024, byte)));
      assert.equal(small.decodes, 1, `byte ${byte}`);
      assert.equal(large.decodes, 1, `byte ${byte}`);
      assert.equal(large.allocations, small.allocations, `byte ${byte}`);
      assert.equal(large.allocatedBytes, 2 * small.allocatedBytes, `byte ${byte}`);
    }
  });
});
