/** ReplyWriter: held runs leave in one write, encoded as each run's own encodeReplies. */
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, it } from "node:test";
import { systemClock } from "../../util/index.js";
import { ReplyWriter } from "./reply-writer.js";
import { array, bulk, encodeReplies, eventReply, int, map, NULL, OK, type Reply } from "./resp-encoder.js";

function writer(): { w: ReplyWriter; writes: Buffer[] } {
  const socket = new PassThrough();
  const writes: Buffer[] = [];
  socket.on("data", (b: Buffer) => writes.push(b));
  const w = new ReplyWriter(socket, {
    maxHeldBytes: 1024 * 1024,
    drainTimeoutMs: 1000,
    clock: systemClock,
    onBackpressure: () => {},
  });
  return { w, writes };
}

describe("okq reply writer", () => {
  it("writes held runs in one write, each encoded in the version it was held with", async () => {
    const { w, writes } = writer();
    const data = Buffer.from("contents\r\n\u00ff", "latin1");
    const runs: [Reply[], 2 | 3][] = [
      [[int(1), int(0), OK], 2],
      [[eventReply("e-1", data), NULL, eventReply("é", new Uint8Array(0))], 2],
      [[NULL, map([[bulk("k"), array([int(7), bulk(Buffer.from("v"))])]])], 3],
    ];
    for (const [replies, version] of runs) w.hold(replies, version);
    assert.equal(await w.flush(), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(writes.length, 1);
    assert.deepEqual(writes[0], Buffer.concat(runs.map(([r, v]) => encodeReplies(r, v))));
    // Nothing held: nothing written.
    assert.equal(await w.flush(), true);
    await new Promise((r) => setImmediate(r));
    assert.equal(writes.length, 1);
  });

  it("is full at 64 runs or at its byte bound", () => {
    const { w } = writer();
    for (let i = 0; i < 63; i++) w.hold([OK], 2);
    assert.equal(w.full, false);
    w.hold([OK], 2);
    assert.equal(w.full, true);
    const small = new ReplyWriter(new PassThrough(), {
      maxHeldBytes: 100,
      drainTimeoutMs: 1000,
      clock: systemClock,
      onBackpressure: () => {},
    });
    small.hold([bulk(Buffer.alloc(90))], 2);
    assert.equal(small.full, false);
    small.hold([bulk(Buffer.alloc(1))], 2);
    assert.equal(small.full, true);
  });
});
