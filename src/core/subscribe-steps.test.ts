/**
 * A Subscribe response leased in steps (LEASE_STEP_MESSAGES in subscribe.ts): one response of up
 * to a quarter of the window, leased a step at a time with the event loop's I/O between steps,
 * sent as one, within the response's byte bound, in delivery order with nothing lost or repeated.
 */
import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import type { LeaseOptions } from "../store/index.js";
import type { BrokerLimits, Delivery } from "./index.js";
import { LEASE_STEP_MESSAGES } from "./subscribe.js";

async function setup(t: TestContext, messages: number, size: number, limits: Partial<BrokerLimits> = {}) {
  // Messages of at most 4 KiB: a new stream's window sizes its first response by the largest
  // message the broker accepts until it has seen one.
  const { store, broker } = startTestBroker(t, { limits: { maxMessageBytes: 4096, ...limits } });
  await broker.createTopic({ name: "q", queue: true, queueSubscription: { ackDeadlineMs: 60_000 } });
  const all = Array.from({ length: messages }, (_, i) => ({ id: `m${i}`, data: Buffer.alloc(size, i % 251) }));
  for (let i = 0; i < all.length; i += 100) await broker.publish("q", all.slice(i, i + 100));
  // Every lease the stream makes, and whether a macrotask queued by the one before had run by then.
  const leases: { max: number; strict: boolean; afterTurn: boolean }[] = [];
  let turned = true;
  const lease = store.lease.bind(store);
  store.lease = (name: string, options: LeaseOptions) => {
    leases.push({ max: options.max, strict: options.maxBytesStrict === true, afterTurn: turned });
    turned = false;
    setImmediate(() => {
      turned = true;
    });
    return lease(name, options);
  };
  return { broker, leases };
}

/** Reads responses until `count` messages came; returns the responses. */
async function read(broker: Awaited<ReturnType<typeof setup>>["broker"], window: number, count: number) {
  const stop = new AbortController();
  const responses: Delivery[][] = [];
  let n = 0;
  for await (const batch of broker.subscribe(
    { subscription: "q", maxOutstandingMessages: window, maxOutstandingBytes: 0 },
    stop.signal,
  )) {
    responses.push(batch);
    n += batch.length;
    if (n >= count) break;
  }
  stop.abort();
  return responses;
}

describe("core subscribe leases a response in steps", () => {
  it("subscribe steps - a response larger than a step is leased in steps, one event-loop turn each, and sent as one", async (t) => {
    const { broker, leases } = await setup(t, 300, 10);
    const [first] = await read(broker, 1000, 250); // a quarter of the window per response: 250
    assert.equal(first?.length, 250);
    assert.deepEqual(
      first?.map((d) => d.message.id),
      Array.from({ length: 250 }, (_, i) => `m${i}`),
    );
    assert.deepEqual(leases.slice(0, 2), [
      { max: LEASE_STEP_MESSAGES, strict: false, afterTurn: true },
      { max: 250 - LEASE_STEP_MESSAGES, strict: true, afterTurn: true },
    ]);
  });

  it("subscribe steps - the steps of a response share its byte bound; responses follow on without gaps or repeats", async (t) => {
    const maxResponseBytes = 512 * 1024;
    const size = 2048;
    const { broker, leases } = await setup(t, 600, size, { maxResponseBytes });
    const responses = await read(broker, 2000, 600);
    const ids = responses.flat().map((d) => d.message.id);
    assert.deepEqual(
      ids,
      Array.from({ length: 600 }, (_, i) => `m${i}`),
    );
    for (const r of responses) {
      assert.ok(r.length * size <= maxResponseBytes, `a response of ${r.length} messages of ${size} bytes`);
    }
    const first = responses[0]?.length ?? 0;
    assert.ok(first > LEASE_STEP_MESSAGES && first < 500, `the byte bound cut the first response at ${first}`);
    assert.ok(
      leases.some((l) => l.strict),
      "a later step is held to the rest of the bound",
    );
  });

  it("subscribe steps - a response that one step fills goes at once", async (t) => {
    const { broker, leases } = await setup(t, 50, 10);
    const [first] = await read(broker, 1000, 50);
    assert.equal(first?.length, 50);
    assert.equal(leases.length, 1, "the step took less than it could: everything there was");
  });
});
