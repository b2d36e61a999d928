/** The ready list of a push worker: lease order, one message per ordering key, what waits behind a failure. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Delivery } from "../core/index.js";
import { ReadyQueue } from "./ready-queue.js";

/** A delivery with only what the queue looks at: its ack id and ordering key. */
function delivery(ackId: string, orderingKey = ""): Delivery {
  return { ackId, deliveryAttempt: 1, message: { orderingKey } } as unknown as Delivery;
}

/** An ordered subscription's key rule: messages without a key need not wait. */
const byKey = (d: Delivery) => (d.message.orderingKey === "" ? undefined : d.message.orderingKey);

function queueOf(...ds: Delivery[]): ReadyQueue {
  const q = new ReadyQueue(byKey);
  for (const d of ds) q.push({ delivery: d, leasedUntilMs: 0 });
  return q;
}

describe("push ready queue", () => {
  it("takeNext - lease order, skipping messages whose key is busy, until none may go", () => {
    const q = queueOf(delivery("a1", "a"), delivery("a2", "a"), delivery("b1", "b"), delivery("n1"));
    const taken = [q.takeNext(), q.takeNext(), q.takeNext()].map((t) => t?.held.delivery.ackId);
    assert.deepEqual(taken, ["a1", "b1", "n1"]);
    assert.equal(q.takeNext(), undefined, "a2 waits for a1");
    assert.equal(q.length, 1);
    q.keyDone("a");
    const next = q.takeNext();
    assert.equal(next?.held.delivery.ackId, "a2");
    assert.equal(next?.key, "a");
  });

  it("takeNext - without ordering every message goes, and frees no key", () => {
    const q = new ReadyQueue(() => undefined);
    for (const id of ["1", "2"]) q.push({ delivery: delivery(id, "k"), leasedUntilMs: 0 });
    assert.deepEqual(
      [q.takeNext(), q.takeNext()].map((t) => [t?.held.delivery.ackId, t?.key]),
      [
        ["1", undefined],
        ["2", undefined],
      ],
    );
  });

  it("takeKeyOf - takes the waiting messages of a failed message's key, in order, and leaves the rest", () => {
    const q = queueOf(delivery("a2", "a"), delivery("b1", "b"), delivery("a3", "a"), delivery("n1"));
    assert.deepEqual(q.takeKeyOf(delivery("a1", "a")), ["a2", "a3"]);
    assert.deepEqual(q.takeKeyOf(delivery("n0")), [], "a message without a key holds nothing back");
    assert.deepEqual(q.takeAll(), ["b1", "n1"]);
    assert.equal(q.length, 0);
  });
});
