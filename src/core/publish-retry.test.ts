import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { BrokerError } from "../errors/index.js";
import type { Store } from "../store/index.js";

/** A store whose next `failures` appends fail, as a failed commit does: having written nothing. */
function flakyStore(inner: Store, failures: number): Store {
  let left = failures;
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== "append") return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<Store["append"]>) => {
        if (left > 0) {
          left--;
          throw new BrokerError("STORE_UNAVAILABLE", "flaky", { retryable: true });
        }
        return target.append(...args);
      };
    },
  });
}

test("core publish - a retryable store failure is retried and stores each message once", async (t) => {
  const { broker } = startTestBroker(t, { wrapStore: (store) => flakyStore(store, 2) });
  await broker.createTopic({ name: "t", queue: true });
  const results = await broker.publish("t", [{ data: new Uint8Array([1]) }, { data: new Uint8Array([2]) }]);
  assert.deepEqual(
    results.map((r) => [r.seq, r.duplicate]),
    [
      [1, false],
      [2, false],
    ],
    "no duplicate is reported",
  );
  const got = await broker.pull(
    { subscription: "t", maxMessages: 10, waitMs: 0, ackDeadlineMs: 0, autoAck: false },
    new AbortController().signal,
  );
  assert.equal(got.length, 2, "the retried batch was not stored twice");
});

test("core publish - a store that keeps failing surfaces STORE_UNAVAILABLE after the retries", async (t) => {
  const { broker } = startTestBroker(t, { wrapStore: (store) => flakyStore(store, 10) });
  await broker.createTopic({ name: "t" });
  await assert.rejects(broker.publish("t", [{ data: new Uint8Array([1]) }]), { reason: "STORE_UNAVAILABLE" });
});
