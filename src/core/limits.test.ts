import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestBroker } from "../../test/helpers/test-broker.js";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.js";

test("core limits - a message limit above the batch limit raises the batch limit with it", () => {
  assert.equal(resolveLimits({ maxMessageBytes: 20 << 20 }).maxBatchBytes, 20 << 20);
  assert.equal(resolveLimits({ maxMessageBytes: 1 << 20 }).maxBatchBytes, DEFAULT_LIMITS.maxBatchBytes);
  // An explicit batch limit is kept as it is.
  assert.equal(resolveLimits({ maxMessageBytes: 20 << 20, maxBatchBytes: 8 << 20 }).maxBatchBytes, 8 << 20);
});

test("core limits - a message of the allowed size above 16 MiB is published", async (t) => {
  const { broker } = startTestBroker(t, { limits: { maxMessageBytes: 20 << 20 } });
  await broker.createTopic({ name: "big", queue: true });
  const data = new Uint8Array(17 << 20).fill(7);
  const [result] = await broker.publish("big", [{ data }]);
  assert.equal(result?.seq, 1);
});
