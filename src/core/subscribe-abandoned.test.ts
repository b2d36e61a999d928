/**
 * A Subscribe stream whose transport never resumes it: the generator sits at a `yield` for good
 * (a write blocked on flow control when the connection was cut; test/fuzz/h2-hostile.fuzz.ts
 * found gRPC-web streams that did this). The abort alone must end it for the broker.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { settle } from "../../test/helpers/broker-asserts.js";
import { startTestBroker } from "../../test/helpers/test-broker.js";

const data = (s: string) => ({ data: Buffer.from(s) });

describe("core subscribe, abandoned at a yield", () => {
  it("subscribe - an aborted stream that is never resumed detaches and gives its messages back", async (t) => {
    const { broker } = startTestBroker(t);
    await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 60_000 } });
    await broker.publish("q", [data("a"), data("b")]);
    const controller = new AbortController();
    const stream = broker
      .subscribe({ subscription: "q", maxOutstandingMessages: 10, maxOutstandingBytes: 0 }, controller.signal)
      [Symbol.asyncIterator]();
    const first = await stream.next();
    assert.equal(first.done, false);
    assert.equal(first.value?.length, 2);
    const consumers = async () => (await broker.getStats(["q"])).subscriptions[0]?.consumers;
    assert.equal(await consumers(), 1);

    // The transport stops here: it aborts the call but never calls next() or return() again.
    controller.abort();
    await settle();
    assert.equal(await consumers(), 0, "no consumer left attached");
    const again = await broker.pull(
      { subscription: "q", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false },
      new AbortController().signal,
    );
    assert.deepEqual(
      again.map((d) => [Buffer.from(d.message.data).toString(), d.deliveryAttempt]),
      [
        ["a", 2],
        ["b", 2],
      ],
      "the stream's leases were given back at once, not at their 60 s deadline",
    );

    // Resumed late after all, it ends without counting itself off a second time.
    const other = broker
      .subscribe({ subscription: "q", maxOutstandingMessages: 1, maxOutstandingBytes: 0 }, controller.signal)
      [Symbol.asyncIterator]();
    await assert.rejects(other.next());
    await assert.rejects(stream.next());
    assert.equal(await consumers(), 0);
  });
});
