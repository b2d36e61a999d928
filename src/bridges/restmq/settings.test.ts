import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startInProcessBroker } from "../../../test/helpers/in-process-clients.js";
import { BROADCAST, createSettingsStore, ROUNDROBIN, TooManySettingsError } from "./settings.js";

const TOPIC = "settings";

describe("restmq settings bounds", () => {
  it("restmq - past the queue bound the settings of queues that do not exist are dropped; then a change fails", async (t) => {
    const { clients } = startInProcessBroker(t);
    for (const q of ["a", "b"]) await clients.admin.createTopic({ name: q, queue: true });
    const existing = new Set(["a", "b"]);
    const store = createSettingsStore(clients, TOPIC, { maxQueues: 3, existingQueues: async () => existing });
    await store.ready();
    await store.set("a", { policy: ROUNDROBIN });
    await store.set("b", { status: 0 });
    await store.set("ghost", { policy: ROUNDROBIN });
    await store.set("a", { status: 1 }); // a change of a known queue always fits
    await store.set("c", { policy: ROUNDROBIN }); // one too many: "ghost" (no such queue) goes
    assert.deepEqual(store.get("ghost"), {});
    assert.deepEqual(store.get("c"), { policy: ROUNDROBIN });
    existing.add("c");
    await assert.rejects(store.set("d", { policy: BROADCAST }), TooManySettingsError);
    assert.deepEqual(store.get("d"), {});

    // What is kept survives a restart; the dropped record is gone from the topic.
    const reloaded = createSettingsStore(clients, TOPIC);
    await reloaded.ready();
    assert.deepEqual(
      ["a", "b", "c", "ghost"].map((q) => reloaded.get(q)),
      [{ policy: ROUNDROBIN, status: 1 }, { status: 0 }, { policy: ROUNDROBIN }, {}],
    );
    const { topics } = await clients.admin.getStats({ topics: [TOPIC] });
    assert.equal(topics[0]?.messages, 3n, "one record per queue with settings");
  });

  it("restmq - settings are bounded by bytes too, names included", async (t) => {
    const { clients } = startInProcessBroker(t);
    // A record is {"queue":…,"policy":…,"status":…}: 40 bytes plus the name.
    const store = createSettingsStore(clients, TOPIC, { maxBytes: 2 * (40 + 200) + 10 });
    await store.ready();
    await store.set("x".repeat(200), { policy: ROUNDROBIN });
    await store.set("y".repeat(200), { policy: ROUNDROBIN });
    await assert.rejects(store.set("z".repeat(200), { policy: ROUNDROBIN }), TooManySettingsError);
    await store.set("x".repeat(200), { status: 0 });
    assert.deepEqual(store.get("x".repeat(200)), { policy: ROUNDROBIN, status: 0 });
  });

  it("restmq - records over the bounds are not loaded (a settings topic filled over the API)", async (t) => {
    const { clients } = startInProcessBroker(t);
    await clients.admin.createTopic({ name: TOPIC, queue: true });
    const records = Array.from({ length: 5 }, (_, i) => ({
      data: Buffer.from(JSON.stringify({ queue: `q${i}`, policy: ROUNDROBIN, status: null })),
    }));
    await clients.publisher.publish({ topic: TOPIC, messages: records });
    const store = createSettingsStore(clients, TOPIC, { maxQueues: 2 });
    await store.ready();
    assert.deepEqual(
      ["q0", "q1", "q2"].map((q) => store.get(q).policy),
      [ROUNDROBIN, ROUNDROBIN, undefined],
    );
  });

  it("restmq - records another door wrote in a shape the bridge never writes change nothing and are logged", async (t) => {
    const { clients } = startInProcessBroker(t);
    const store = createSettingsStore(clients, TOPIC);
    await store.ready();
    await store.set("live", { policy: ROUNDROBIN, status: 0 });
    const hostile = [
      { queue: "live", policy: "zzz" },
      { queue: "live", policy: 1, status: 7 },
      { queue: "live", policy: 1, extra: true },
      ["live", 1],
      "not json{",
    ].map((r) => ({ data: Buffer.from(typeof r === "string" ? r : JSON.stringify(r)) }));
    await clients.publisher.publish({ topic: TOPIC, messages: hostile });
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const logger = {
      info() {},
      error() {},
      warn: (m: string, f?: Record<string, unknown>) => void warnings.push([m, f]),
    };
    const reloaded = createSettingsStore(clients, TOPIC, {}, logger);
    await reloaded.ready();
    assert.deepEqual(reloaded.get("live"), { policy: ROUNDROBIN, status: 0 });
    assert.deepEqual(warnings, [
      ["restmq: settings records not written by the bridge were ignored", { ignored: 5, topic: TOPIC }],
    ]);
  });
});
