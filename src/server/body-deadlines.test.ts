import assert from "node:assert/strict";
import * as http2 from "node:http2";
import { describe, it } from "node:test";
import { BodyDeadlines } from "./body-deadlines.js";

/** The parts of a stream the list reads and calls. */
function fakeStream(name: string) {
  const s = {
    name,
    readableEnded: false,
    destroyed: false,
    closed: false,
    resetWith: undefined as number | undefined,
    errorListeners: 0,
    on(event: string) {
      if (event === "error") s.errorListeners++;
      return s;
    },
    close(code: number) {
      s.resetWith = code;
      s.closed = true;
    },
  };
  return s;
}
type Fake = ReturnType<typeof fakeStream>;
const asStream = (s: Fake) => s as unknown as http2.ServerHttp2Stream;

describe("BodyDeadlines", () => {
  it("resets, oldest first, only the streams whose body has not ended by their deadline", (t) => {
    let now = 1_000;
    const deadlines = new BodyDeadlines(100, () => now);
    t.after(() => deadlines.clear());
    const [a, b, c, d] = ["a", "b", "c", "d"].map(fakeStream) as [Fake, Fake, Fake, Fake];
    deadlines.add(asStream(a));
    now = 1_010;
    deadlines.add(asStream(b));
    deadlines.add(asStream(c));
    now = 1_050;
    deadlines.add(asStream(d));
    b.readableEnded = true; // its body ended: never reset
    assert.equal(deadlines.size(), 4);

    now = 1_099;
    deadlines.expire();
    assert.equal(a.resetWith, undefined, "not due yet");
    assert.equal(deadlines.size(), 4);

    now = 1_110;
    deadlines.expire();
    assert.equal(a.resetWith, http2.constants.NGHTTP2_CANCEL);
    assert.equal(a.errorListeners, 1, "an error listener before the reset");
    assert.equal(b.resetWith, undefined, "an ended body is left alone");
    assert.equal(c.resetWith, http2.constants.NGHTTP2_CANCEL);
    assert.equal(d.resetWith, undefined, "due at 1150");
    assert.equal(deadlines.size(), 1);

    now = 1_150;
    deadlines.expire();
    assert.equal(d.resetWith, http2.constants.NGHTTP2_CANCEL);
    assert.equal(deadlines.size(), 0);
  });

  it("forgets a stream removed (closed) before its deadline, from any place in the list", (t) => {
    let now = 0;
    const deadlines = new BodyDeadlines(50, () => now);
    t.after(() => deadlines.clear());
    const streams = ["h", "m", "t"].map(fakeStream) as [Fake, Fake, Fake];
    for (const s of streams) deadlines.add(asStream(s));
    deadlines.remove(asStream(streams[1]));
    deadlines.remove(asStream(streams[0]));
    deadlines.remove(asStream(streams[1])); // twice: nothing happens
    assert.equal(deadlines.size(), 1);
    deadlines.add(asStream(streams[0])); // listed again, now at the tail
    deadlines.remove(asStream(streams[2]));
    assert.equal(deadlines.size(), 1);
    now = 100;
    deadlines.expire();
    assert.equal(streams[0].resetWith, http2.constants.NGHTTP2_CANCEL);
    assert.equal(streams[1].resetWith, undefined);
    assert.equal(streams[2].resetWith, undefined);
  });

  it("leaves a stream already closed or destroyed alone when its deadline comes", (t) => {
    let now = 0;
    const deadlines = new BodyDeadlines(10, () => now);
    t.after(() => deadlines.clear());
    const closed = fakeStream("closed");
    const destroyed = fakeStream("destroyed");
    deadlines.add(asStream(closed));
    deadlines.add(asStream(destroyed));
    closed.closed = true;
    destroyed.destroyed = true;
    now = 20;
    deadlines.expire();
    assert.equal(closed.resetWith, undefined);
    assert.equal(destroyed.resetWith, undefined);
    assert.equal(deadlines.size(), 0);
  });

  it("its one timer resets a stream on the real clock", async (t) => {
    const deadlines = new BodyDeadlines(20);
    t.after(() => deadlines.clear());
    const s = fakeStream("s");
    deadlines.add(asStream(s));
    const started = Date.now();
    while (s.resetWith === undefined && Date.now() - started < 2_000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(s.resetWith, http2.constants.NGHTTP2_CANCEL);
  });
});
