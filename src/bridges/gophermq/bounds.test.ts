import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startGophermqHarness } from "../../../test/helpers/gophermq-harness.js";
import { createFakeClock, type FakeClock } from "../../util/index.js";
import type { BrokerClients } from "../bridge.js";
import { createAsyncSlots } from "./async-slots.js";

async function post(base: string, path: string, value: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
  return { status: res.status, text: await res.text() };
}

/** Lets timers' async work run: a few turns of the event loop. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the fake clock by `ms` in 500 ms steps, letting each step's timers finish their work. */
async function advance(clock: FakeClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 500) {
    clock.advance(500);
    await settle();
  }
}

async function topicExists(clients: BrokerClients, name: string): Promise<boolean> {
  try {
    await clients.admin.getTopic({ name });
    return true;
  } catch {
    return false;
  }
}

describe("gophermq bounds", () => {
  it("gophermq bounds - subscribers are capped; expired ones make room, and the topics they made go", async (t) => {
    const clock = createFakeClock();
    const h = await startGophermqHarness(
      t,
      { maxSubscribers: 2, idleExpiryMs: 10_000, topicCleanupIntervalMs: 1000 },
      { clock },
    );
    assert.equal((await post(h.base, "/api/subscribe", { subject: "loop.1" })).status, 200);
    assert.equal((await post(h.base, "/api/subscribe", { subject: "loop.2" })).status, 200);
    const refused = await post(h.base, "/api/subscribe", { subject: "loop.3" });
    assert.deepEqual(refused, { status: 429, text: '{"message":"too many subscribers"}\n' });
    assert.ok(await topicExists(h.clients, "loop.1"));
    // Past the idle expiry (and the margin for the broker's sweep): both subscribers are gone,
    // and so are the topics the bridge made for them.
    await advance(clock, 16_000);
    assert.equal(await topicExists(h.clients, "loop.1"), false);
    assert.equal(await topicExists(h.clients, "loop.2"), false);
    assert.equal((await post(h.base, "/api/subscribe", { subject: "loop.3" })).status, 200);
  });

  it("gophermq bounds - a topic the bridge did not make, or one still in use, is never deleted", async (t) => {
    const clock = createFakeClock();
    const h = await startGophermqHarness(t, { idleExpiryMs: 10_000, topicCleanupIntervalMs: 1000 }, { clock });
    await h.clients.admin.createTopic({ name: "theirs" });
    assert.equal((await post(h.base, "/api/subscribe", { subject: "theirs" })).status, 200);
    assert.equal((await post(h.base, "/api/subscribe", { subject: "shared" })).status, 200);
    // Another door's subscription on the bridge's topic keeps it.
    await h.clients.admin.createSubscription({ subscription: { name: "connect-sub", topic: "shared" } });
    await advance(clock, 16_000);
    assert.ok(await topicExists(h.clients, "theirs"));
    assert.ok(await topicExists(h.clients, "shared"));
    await h.clients.admin.deleteSubscription({ name: "connect-sub" });
    await advance(clock, 2_000);
    assert.equal(await topicExists(h.clients, "shared"), false, "deleted once nothing uses it");
  });

  it("gophermq bounds - publishes waiting to be stored are capped: beyond it 503 at once", async (t) => {
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const h = await startGophermqHarness(
      t,
      { maxQueuedPublishes: 3 },
      {
        wrapClients: (c) => ({
          ...c,
          publisher: {
            ...c.publisher,
            publish: async (req, options) => gate.then(() => c.publisher.publish(req, options)),
          },
        }),
      },
    );
    assert.equal((await post(h.base, "/api/subscribe", { subject: "busy" })).status, 200);
    const held = [1, 2, 3].map((i) => post(h.base, "/api/publish", { subject: "busy", data: `m${i}` }));
    for (let i = 0; i < 2000 && h.bridge.inFlight() < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(h.bridge.inFlight(), 3, "three publishes held at the broker");
    assert.deepEqual(await post(h.base, "/api/publish", { subject: "busy", data: "m4" }), {
      status: 503,
      text: '{"message":"Service Unavailable"}\n',
    });
    assert.deepEqual(await post(h.base, "/api/publish/async", { subject: "busy", data: "m5" }), {
      status: 503,
      text: '{"message":"Service Unavailable"}\n',
    });
    open();
    assert.deepEqual(
      (await Promise.all(held)).map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal((await post(h.base, "/api/publish", { subject: "busy", data: "m6" })).status, 200);
  });

  it("gophermq bounds - async publish slots: a bounded queue of waiters, the rest refused at once", async () => {
    const slot = createAsyncSlots(1, 60_000, 1);
    const never = new AbortController().signal;
    const first = await slot(never);
    assert.ok(first);
    const waiting = slot(never);
    assert.equal(await slot(never), undefined, "the waiter queue is full");
    first();
    const second = await waiting;
    assert.ok(second, "the waiter got the slot");
    second();
  });
});
