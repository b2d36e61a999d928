/**
 * /metrics series that must follow events, not snapshots: dead letters counted when they happen
 * (a counter that never goes down), and the latency of a stream taken at its first response.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { scrape } from "../helpers/prometheus.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let c: TestClients;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  c = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  c.close();
  await server.close();
});

const metrics = () => scrape(`${server.baseUrl}/metrics`);

/** Publishes one message to `topic` and nacks it on `subscription` (max attempts 1: a dead letter). */
async function deadLetterOne(topic: string, subscription: string): Promise<void> {
  await c.publisher.publish({ topic, messages: [{ data: new TextEncoder().encode("x") }] });
  const got = await c.subscriber.pull({ subscription, maxMessages: 1 });
  assert.equal(got.messages.length, 1);
  await c.subscriber.nack({ subscription, ackIds: [got.messages[0]?.ackId as string] });
}

describe("metrics events", () => {
  it("metrics - dead letters: never down when a subscription is made again, and short-lived ones count", async () => {
    await c.admin.createTopic({ name: "dl" });
    await c.admin.createTopic({ name: "dl-dlq", queue: true });
    const create = (name: string) =>
      c.admin.createSubscription({
        subscription: { name, topic: "dl", maxDeliveryAttempts: 1, deadLetterTopic: "dl-dlq" },
      });
    await create("dl-work");
    await deadLetterOne("dl", "dl-work");
    assert.equal((await metrics()).value("switchyard_messages_dead_lettered_total", { topic: "dl" }), 1);
    // Made again under the same name (the store counts from 0 again), and one made and deleted
    // between two scrapes.
    await c.admin.deleteSubscription({ name: "dl-work" });
    await create("dl-work");
    assert.equal((await metrics()).value("switchyard_messages_dead_lettered_total", { topic: "dl" }), 1);
    await create("dl-brief");
    await deadLetterOne("dl", "dl-brief");
    await c.admin.deleteSubscription({ name: "dl-brief" });
    await deadLetterOne("dl", "dl-work");
    assert.equal((await metrics()).value("switchyard_messages_dead_lettered_total", { topic: "dl" }), 3);
  });

  it("metrics - a Subscribe stream's latency is the time to its first response", async () => {
    await c.admin.createTopic({ name: "lat", queue: true });
    const before = (await metrics()).histogram("switchyard_rpc_request_duration_seconds", {
      protocol: "connect",
      service: "switchyard.v1.SubscriberService",
      method: "Subscribe",
    });
    assert.equal(before, undefined, "no stream yet");
    const stop = new AbortController();
    const started = performance.now();
    // Publish 300 ms after the server has the stream (it shows as a consumer): the first response
    // comes at least that long after the server started the call.
    void (async () => {
      while ((await c.admin.getStats({ topics: ["lat"] })).subscriptions[0]?.consumers !== 1) {
        await new Promise((r) => setTimeout(r, 5));
      }
      await new Promise((r) => setTimeout(r, 300));
      await c.publisher.publish({ topic: "lat", messages: [{ data: new Uint8Array([1]) }] });
    })();
    for await (const res of c.subscriber.subscribe({ subscription: "lat" }, { signal: stop.signal })) {
      await c.subscriber.ack({ subscription: "lat", ackIds: res.messages.map((m) => m.ackId) });
      break;
    }
    const waited = (performance.now() - started) / 1000;
    stop.abort();
    const h = (await metrics()).histogram("switchyard_rpc_request_duration_seconds", {
      protocol: "connect",
      service: "switchyard.v1.SubscriberService",
      method: "Subscribe",
    });
    assert.equal(h?.count, 1);
    assert.ok(
      (h?.sum ?? 0) >= 0.3,
      `observed ${h?.sum} s; the first response came 0.3 s after the stream began or later`,
    );
    assert.ok((h?.sum ?? 0) <= waited, `observed ${h?.sum} s, more than the ${waited} s the client waited`);
  });

  it("metrics - a remote client cannot pass for in-process by sending the switchyard-in-process header", async () => {
    await c.admin.createTopic({ name: "forged" });
    const labels = { service: "switchyard.v1.PublisherService", method: "Publish", code: "ok" };
    const count = (m: Awaited<ReturnType<typeof metrics>>, protocol: string) =>
      m.sample("switchyard_rpc_requests_total", { protocol, ...labels }) === undefined
        ? 0
        : m.value("switchyard_rpc_requests_total", { protocol, ...labels });
    const before = await metrics();
    const headers = { "switchyard-in-process": "1" };
    await c.publisher.publish({ topic: "forged", messages: [{ data: new Uint8Array([1]) }] }, { headers });
    const after = await metrics();
    assert.equal(count(after, "in-process"), count(before, "in-process"));
    assert.equal(count(after, "connect"), count(before, "connect") + 1);
  });

  it("metrics - no two families claim the same name under OpenMetrics, on either metrics port", async () => {
    for (const url of [`${server.baseUrl}/metrics`, `http://${server.addresses["gophermq-metrics"]}/metrics`]) {
      const owners = new Map<string, string>();
      for (const f of (await scrape(url)).families.values()) {
        // OpenMetrics names a counter's family without _total and adds _created; histograms add
        // _bucket, _sum, _count and _created; a gauge is its name.
        const base = f.type === "COUNTER" ? f.name.replace(/_total$/, "") : f.name;
        const names =
          f.type === "COUNTER"
            ? [base, `${base}_total`, `${base}_created`]
            : f.type === "HISTOGRAM" || f.type === "SUMMARY"
              ? [base, `${base}_bucket`, `${base}_sum`, `${base}_count`, `${base}_created`]
              : [base];
        for (const n of names) {
          const owner = owners.get(n);
          assert.ok(owner === undefined || owner === f.name, `${n}: both ${owner} and ${f.name} (${url})`);
          owners.set(n, f.name);
        }
      }
    }
  });
});
