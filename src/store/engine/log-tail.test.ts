import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { StoredMessage } from "../../model/index.js";
import { type DecodedMessage, LogTail, TailBudget } from "./log-tail.js";
import type { MessageMeta } from "./message-codec.js";

function value(seq: number, bytes = 10): Buffer {
  return Buffer.alloc(bytes, seq % 256);
}

/** Every [seq, value] a scan of [from, to) visits, or undefined when the tail does not cover it. */
function visited(tail: LogTail, from: number, to: number, limit = Number.POSITIVE_INFINITY) {
  const out: Array<[number, number]> = [];
  const n = tail.scan(from, to, limit, (seq, v) => out.push([seq, v[0] as number]) > 0);
  if (n === undefined) return undefined;
  assert.equal(n, out.length, "the count is of what it visited");
  return out;
}

function decoded(seq: number): DecodedMessage {
  return { message: { seq } as StoredMessage, meta: { size: 10 } as MessageMeta };
}

describe("LogTail", () => {
  it("covers nothing until its first put, then the seqs from it on", () => {
    const tail = new LogTail();
    assert.equal(visited(tail, 1, 2), undefined);
    // A log opened with messages in it: the first put says nothing of the seqs before it.
    tail.put(500, value(500));
    assert.equal(tail.get(499), undefined);
    assert.equal(visited(tail, 499, 501), undefined);
    assert.deepEqual(visited(tail, 500, 501), [[500, 500 % 256]]);
    assert.equal(visited(tail, 500, 502), undefined, "past its end: not covered");
  });

  it("seqs skipped between puts hold nothing; a long jump starts it again", () => {
    const tail = new LogTail();
    tail.put(1, value(1));
    tail.put(4, value(4)); // 2 and 3 were never stored
    assert.equal(tail.get(2), null);
    assert.deepEqual(visited(tail, 1, 5), [
      [1, 1],
      [4, 4],
    ]);
    tail.put(4 + 5000, value(5004));
    assert.equal(tail.get(4), undefined, "started again at the jump");
    assert.deepEqual(visited(tail, 5004, 5005), [[5004, 5004 % 256]]);
  });

  it("drops, ranges of drops and a scan's limit and stop", () => {
    const tail = new LogTail();
    for (let s = 1; s <= 10; s++) tail.put(s, value(s));
    tail.drop(3);
    tail.dropRange(6, 7);
    tail.dropRange(100, 200); // not covered: nothing
    assert.equal(tail.get(3), null);
    assert.deepEqual(
      visited(tail, 1, 11)?.map(([s]) => s),
      [1, 2, 4, 5, 8, 9, 10],
    );
    assert.deepEqual(
      visited(tail, 2, 11, 3)?.map(([s]) => s),
      [2, 4, 5],
    );
    const seen: number[] = [];
    assert.equal(
      tail.scan(1, 11, 100, (s) => seen.push(s) < 2),
      2,
    );
    assert.deepEqual(seen, [1, 2]);
    assert.equal(tail.heldBytes, 70);
  });

  it("evicts the oldest past its own bound and past the store's, and never holds more", () => {
    const budget = new TailBudget(250);
    const a = new LogTail(budget, 100);
    const b = new LogTail(budget, 1000);
    for (let s = 1; s <= 25; s++) a.put(s, value(s));
    assert.equal(a.heldBytes, 100);
    assert.deepEqual(
      visited(a, 16, 26)?.map(([s]) => s),
      [16, 17, 18, 19, 20, 21, 22, 23, 24, 25],
    );
    assert.equal(visited(a, 15, 26), undefined, "evicted");
    for (let s = 1; s <= 20; s++) b.put(s, value(s));
    assert.equal(budget.usedBytes, 250);
    assert.equal(a.heldBytes + b.heldBytes, 250);
    assert.equal(b.heldBytes, 150, "b evicts its own oldest to stay within the store's bound");
    // A value larger than the bound ends the tail before it; the tail goes on after it.
    b.put(21, value(21, 2000));
    assert.equal(b.heldBytes, 0);
    assert.equal(b.get(21), undefined);
    b.put(22, value(22));
    assert.deepEqual(visited(b, 22, 23), [[22, 22]]);
    a.clear();
    assert.equal(budget.usedBytes, 10);
  });

  it("shares a decoded message while it holds the value, counted against its bound", () => {
    const budget = new TailBudget();
    const tail = new LogTail(budget);
    tail.put(1, value(1));
    tail.put(2, value(2));
    tail.keepDecoded(1, decoded(1));
    assert.equal(tail.decodedAt(1)?.message.seq, 1);
    assert.equal(tail.decodedAt(2), undefined);
    const held = tail.heldBytes;
    assert.ok(held > 20, "the decoded message counts");
    tail.drop(1);
    assert.equal(tail.decodedAt(1), undefined, "gone with its value");
    assert.equal(tail.heldBytes, 10);
    tail.keepDecoded(1, decoded(1));
    assert.equal(tail.decodedAt(1), undefined, "no value, nothing decoded kept");
    assert.equal(budget.usedBytes, tail.heldBytes);
  });

  it("moves its bytes to the store's budget when shared", () => {
    const tail = new LogTail();
    tail.put(1, value(1, 40));
    const budget = new TailBudget(1000);
    tail.share(budget);
    assert.equal(budget.usedBytes, 40);
    tail.put(2, value(2, 40));
    assert.equal(budget.usedBytes, 80);
  });

  it("drops what every reader passed, rests while its readers are all behind it, and starts again once one catches up", () => {
    const tail = new LogTail(new TailBudget(), 100);
    for (let s = 1; s <= 5; s++) tail.put(s, value(s));
    tail.readersAt(3, 4);
    assert.equal(tail.get(2), undefined, "below the slowest reader: gone");
    assert.deepEqual(
      visited(tail, 3, 6)?.map(([s]) => s),
      [3, 4, 5],
    );
    // Readers stop at 4 while the log grows past what the bound holds: rather than turn its
    // values over, the tail rests, holding nothing.
    for (let s = 6; s <= 20; s++) tail.put(s, value(s));
    assert.ok(tail.isResting);
    assert.equal(tail.heldBytes, 0);
    assert.equal(visited(tail, 15, 21), undefined);
    tail.readersAt(4, 15);
    assert.ok(tail.isResting, "still behind the log's end");
    tail.put(21, value(21));
    tail.readersAt(4, 22);
    assert.ok(!tail.isResting, "a reader read everything");
    tail.put(22, value(22));
    assert.deepEqual(visited(tail, 22, 23), [[22, 22]]);
    assert.equal(visited(tail, 21, 23), undefined, "it knows nothing of what came while it rested");
  });

  it("a topic without readers keeps nothing past the next append, and rests at its bound", () => {
    const tail = new LogTail(new TailBudget(), 50);
    tail.put(1, value(1));
    tail.readersAt(Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY);
    assert.equal(tail.heldBytes, 0);
    for (let s = 2; s <= 10; s++) tail.put(s, value(s));
    assert.ok(tail.isResting);
  });
});
