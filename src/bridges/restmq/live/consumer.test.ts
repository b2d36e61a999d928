import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BrokerClients } from "../../bridge.js";
import { type EndReason, LiveConsumer, type LiveElement } from "./consumer.js";

/** A consumer over a fake transport whose flushes the test releases by hand. */
class FakeConsumer extends LiveConsumer {
  readonly frames: string[] = [];
  readonly unflushed: (() => void)[] = [];
  endedAs: EndReason | undefined;
  constructor() {
    super("q", {} as BrokerClients, { highWaterBytes: 100, maxBufferedBytes: 300 });
  }
  protected frame(e: LiveElement): string {
    return e.json;
  }
  protected transmit(frame: string, flushed: () => void): void {
    this.frames.push(frame);
    this.unflushed.push(flushed);
  }
  protected close(reason: EndReason): void {
    this.endedAs = reason;
  }
  flushAll(): void {
    for (const f of this.unflushed.splice(0)) f();
  }
}

const element = (bytes: number): LiveElement => ({ key: "q:1", json: "x".repeat(bytes) });

describe("restmq live consumer bounds", () => {
  it("restmq - ready below the high-water mark; room is signalled when flushes bring it back under", () => {
    const c = new FakeConsumer();
    let rooms = 0;
    c.onRoom(() => rooms++);
    assert.equal(c.ready(), true);
    assert.equal(c.send(element(150), true), true);
    assert.equal(c.ready(), false);
    assert.equal(c.pendingBytes(), 150);
    c.flushAll();
    assert.equal(c.pendingBytes(), 0);
    assert.equal(c.ready(), true);
    assert.equal(rooms, 1);
  });

  it("restmq - a consumer ready at batch start takes the whole batch, past the bound", () => {
    const c = new FakeConsumer();
    for (let i = 0; i < 5; i++) assert.equal(c.send(element(100), true), true);
    assert.equal(c.pendingBytes(), 500);
    assert.equal(c.isEnded(), false);
  });

  it("restmq - a consumer behind is dropped as slow once an element would take it past the bound", () => {
    const c = new FakeConsumer();
    assert.equal(c.send(element(150), true), true);
    assert.equal(c.send(element(100), false), true, "250 of 300");
    assert.equal(c.send(element(100), false), false, "350 > 300");
    assert.equal(c.isEnded(), true);
    assert.equal(c.endedAs, "slow");
    assert.equal(c.send(element(1), true), false, "an ended consumer takes nothing");
  });

  it("restmq - an element larger than the bound still goes to an empty buffer", () => {
    const c = new FakeConsumer();
    assert.equal(c.send(element(1000), false), true);
    assert.equal(c.isEnded(), false);
  });

  it("restmq - ending calls the end listeners once, with the reason", () => {
    const c = new FakeConsumer();
    const reasons: EndReason[] = [];
    c.onEnd((r) => reasons.push(r));
    c.end("purged");
    c.end("gone");
    assert.deepEqual(reasons, ["purged"]);
    assert.equal(c.endedAs, "purged");
  });
});
