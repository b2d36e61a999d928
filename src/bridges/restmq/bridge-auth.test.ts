/**
 * The RestMQ bridge with the auth seam (a fake authenticator whose users' calls the broker may
 * refuse) and small bounds, on a real HTTP listener over a memory-store broker: what the real
 * server cannot configure yet.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { answerGate, refuseMethods } from "../../../test/helpers/in-process-clients.js";
import { form, rawRequest } from "../../../test/helpers/raw-http.js";
import { basic, startRestmqBridge } from "../../../test/helpers/restmq-bridge.js";
import { openComet, waitUntil } from "../../../test/helpers/restmq-live.js";

describe("restmq bridge with users", () => {
  it("restmq - DELETE by a user who may not empty the queue is 401 and ends no consumer", async (t) => {
    const h = await startRestmqBridge(t, {
      users: { writer: [refuseMethods("Seek", "PurgeTopic")], admin: [] },
    });
    const asAdmin = (method: string, path: string, body: string) =>
      rawRequest(h.address, method, path, { body, headers: { ...form("").headers, ...basic("admin") } });
    const add = (v: string) => asAdmin("POST", "/q/guarded", `value=${v}`);
    // Stopped, so the consumer is not fed and the elements stay in the queue.
    await asAdmin("POST", "/control/guarded", "status=stop");
    assert.equal((await add("1")).body.toString(), "guarded:1\r\n");
    assert.equal((await add("2")).body.toString(), "guarded:2\r\n");
    const comet = openComet(h.address, "/c/guarded", basic("admin"));
    try {
      await waitUntil(() => h.bridge.liveConsumers() === 1, "the comet consumer");

      const refused = await rawRequest(h.address, "DELETE", "/q/guarded", { headers: basic("writer") });
      assert.equal(refused.status, 401);
      assert.equal(h.bridge.liveConsumers(), 1, "the consumer was not ended");
      const { subscriptions } = await h.clients.admin.getStats({ topics: ["guarded"] });
      assert.equal(subscriptions[0]?.backlog, 2n, "nothing was emptied");

      const done = await rawRequest(h.address, "DELETE", "/q/guarded", { headers: basic("admin") });
      assert.equal(done.body.toString(), '{"queue": "guarded", "status": 1}\r\n');
      await comet.ended;
      assert.deepEqual(comet.lines, ["null"]);
    } finally {
      comet.close();
    }
  });

  it("restmq - concurrent live consumers past the cap are 503; the cap is never overshot", async (t) => {
    // Every access check (a Peek) is held until all 12 requests are either checking or refused.
    const gate = answerGate("Peek");
    const h = await startRestmqBridge(t, { options: { maxLiveConsumers: 3 }, interceptors: [gate.interceptor] });
    const comets = Array.from({ length: 12 }, () => openComet(h.address, "/c/capped"));
    const refused = () => comets.filter((c) => c.response()?.statusCode === 503).length;
    try {
      await waitUntil(() => gate.calls() + refused() === 12, "every request checking or refused");
      gate.open();
      await waitUntil(() => h.bridge.liveConsumers() + refused() === 12, "every request answered or attached");
      assert.equal(h.bridge.liveConsumers(), 3);
      assert.equal(refused(), 9);
      await rawRequest(h.address, "POST", "/q/capped", form("value=x"));
      await waitUntil(() => comets.filter((c) => c.lines.length === 1).length === 3, "the 3 consumers fed");
    } finally {
      for (const c of comets) c.close();
    }
  });
});
