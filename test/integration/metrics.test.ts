/**
 * /metrics the Prometheus way: after known traffic, both metrics endpoints (the RPC port and the
 * gophermq-metrics port) are scraped and parsed with a real exposition-format parser, and the
 * counts are checked exactly, together with the TYPE of every family.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createTestClients, PROTOCOLS } from "../helpers/clients.js";
import { postJson, rawRequest } from "../helpers/http-raw.js";
import { type Scrape, scrape } from "../helpers/prometheus.js";
import { startTestServer } from "../helpers/start-test-server.js";

const enc = (s: string) => new TextEncoder().encode(s);

/** The TYPE every switchyard family must have, by name. */
const EXPECTED_TYPES: Record<string, "COUNTER" | "GAUGE" | "HISTOGRAM"> = {
  switchyard_messages_published_total: "COUNTER",
  switchyard_published_bytes_total: "COUNTER",
  switchyard_messages_delivered_total: "COUNTER",
  switchyard_delivered_bytes_total: "COUNTER",
  switchyard_messages_redelivered_total: "COUNTER",
  switchyard_messages_acked_total: "COUNTER",
  switchyard_messages_nacked_total: "COUNTER",
  switchyard_messages_dead_lettered_total: "COUNTER",
  switchyard_topic_messages: "GAUGE",
  switchyard_topic_bytes: "GAUGE",
  switchyard_topic_last_seq: "GAUGE",
  switchyard_topic_subscriptions: "GAUGE",
  switchyard_subscription_backlog: "GAUGE",
  switchyard_subscription_in_flight: "GAUGE",
  switchyard_subscription_delayed: "GAUGE",
  switchyard_subscription_consumers: "GAUGE",
  switchyard_subscription_oldest_unacked_age_seconds: "GAUGE",
  switchyard_subscription_paused: "GAUGE",
  switchyard_push_last_status: "GAUGE",
  switchyard_push_consecutive_failures: "GAUGE",
  switchyard_rpc_request_duration_seconds: "HISTOGRAM",
  switchyard_rpc_requests_total: "COUNTER",
  switchyard_store_commit_duration_seconds: "HISTOGRAM",
  switchyard_store_size_bytes: "GAUGE",
  switchyard_listener_connections: "GAUGE",
  switchyard_bridge_connections: "GAUGE",
  switchyard_bridge_connections_accepted_total: "COUNTER",
  switchyard_bridge_commands_total: "COUNTER",
  switchyard_bridge_errors_total: "COUNTER",
  process_resident_memory_bytes: "GAUGE",
  process_start_time_seconds: "GAUGE",
  process_cpu_seconds_total: "COUNTER",
  nodejs_eventloop_lag_seconds: "GAUGE",
};

function checkTypes(s: Scrape): void {
  for (const [name, type] of Object.entries(EXPECTED_TYPES)) {
    assert.equal(s.family(name).type, type, `TYPE of ${name}`);
  }
  // Naming rules: every counter ends in _total, nothing else does; no switchyard family is untyped.
  for (const f of s.families.values()) {
    if (!f.name.startsWith("switchyard_")) continue;
    assert.notEqual(f.type, "UNTYPED", f.name);
    assert.equal(f.type === "COUNTER", f.name.endsWith("_total"), `${f.name} is a ${f.type}`);
  }
}

const histogramCount = (s: Scrape, name: string, labels: Record<string, string> = {}) =>
  s.histogram(name, labels)?.count ?? Number.NaN;

describe("metrics", () => {
  it("metrics - exact counts after known traffic, every family with its TYPE, on both ports", async (t) => {
    const s = await startTestServer({ config: { okqPort: "off" } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    // A queue with a dead-letter topic: the first failed attempt dead-letters.
    await c.admin.createTopic({ name: "jobs", queue: true });
    await c.admin.createTopic({ name: "jobs-dlq", queue: true });
    await c.admin.createSubscription({
      subscription: { name: "strict", topic: "jobs", maxDeliveryAttempts: 1, deadLetterTopic: "jobs-dlq" },
    });
    await c.publisher.publish({
      topic: "jobs",
      messages: [{ data: enc("aaaa") }, { data: enc("bb") }, { data: enc("c") }],
    });
    // A duplicate id stores nothing and counts nothing.
    await c.publisher.publish({ topic: "jobs", messages: [{ data: enc("dd"), id: "x" }] });
    await c.publisher.publish({ topic: "jobs", messages: [{ data: enc("dd"), id: "x" }] });
    const first = await c.subscriber.pull({ subscription: "jobs", maxMessages: 2 });
    assert.equal(first.messages.length, 2);
    await c.subscriber.ack({ subscription: "jobs", ackIds: [first.messages[0]?.ackId as string] });
    await c.subscriber.nack({ subscription: "jobs", ackIds: [first.messages[1]?.ackId as string] });
    // The nacked message comes again (attempt 2) with the two not pulled yet.
    const second = await c.subscriber.pull({ subscription: "jobs", maxMessages: 10 });
    assert.equal(second.messages.length, 3);
    assert.equal(second.messages.filter((m) => m.deliveryAttempt === 2).length, 1);
    // "strict" dead-letters its first failure.
    const strict = await c.subscriber.pull({ subscription: "strict", maxMessages: 1 });
    await c.subscriber.nack({ subscription: "strict", ackIds: [strict.messages[0]?.ackId as string] });
    await assert.rejects(c.admin.getTopic({ name: "no-such-topic" }));

    // GopherMQ traffic: one subscribe, one publish, one 404 publish, one fetch, one async (not counted by GopherMQ).
    const gopher = `http://${s.addresses.gophermq}`;
    const id = (JSON.parse((await postJson(`${gopher}/api/subscribe`, { subject: "g" })).text) as { id: string }).id;
    assert.equal((await postJson(`${gopher}/api/publish`, { subject: "g", data: "12345" })).status, 200);
    assert.equal((await postJson(`${gopher}/api/publish`, { subject: "none", data: "x" })).status, 404);
    assert.equal((await postJson(`${gopher}/api/fetch`, { subject: "g", id })).status, 200);
    assert.equal((await postJson(`${gopher}/api/publish/async`, { subject: "none", data: "x" })).status, 200);
    // A fetch acks its messages once its answer is out: wait for that ack before counting. The
    // backlog drops when the ack is applied, the acked counter once its commit is synced: wait for both.
    for (let i = 0; i < 500; i++) {
      if (
        (await c.admin.getStats({ topics: ["g"] })).subscriptions[0]?.backlog === 0n &&
        (await scrape(`${s.baseUrl}/metrics`)).sample("switchyard_messages_acked_total", { topic: "g" }) !== undefined
      )
        break;
      await new Promise((r) => setTimeout(r, 10));
    }

    const m = await scrape(`${s.baseUrl}/metrics`);
    checkTypes(m);
    const jobs = { topic: "jobs" };
    assert.equal(m.value("switchyard_messages_published_total", jobs), 4);
    assert.equal(m.value("switchyard_published_bytes_total", jobs), 9);
    // jobs: 2 + 3 pulled; strict: 1.
    assert.equal(m.value("switchyard_messages_delivered_total", jobs), 6);
    assert.equal(m.value("switchyard_messages_redelivered_total", jobs), 1);
    assert.equal(m.value("switchyard_messages_acked_total", jobs), 1);
    assert.equal(m.value("switchyard_messages_nacked_total", jobs), 2);
    assert.equal(m.value("switchyard_messages_dead_lettered_total", jobs), 1);
    // A dead letter is stored on the dead-letter topic, but it is no publish.
    assert.equal(m.sample("switchyard_messages_published_total", { topic: "jobs-dlq" }), undefined);
    assert.equal(m.value("switchyard_topic_messages", { topic: "jobs-dlq" }), 1);
    assert.equal(m.value("switchyard_messages_published_total", { topic: "g" }), 1);
    assert.equal(m.value("switchyard_published_bytes_total", { topic: "g" }), 5);
    assert.equal(m.value("switchyard_delivered_bytes_total", { topic: "g" }), 5);
    assert.equal(m.value("switchyard_messages_acked_total", { topic: "g" }), 1);
    // Gauges from the stats: jobs holds 3 leased, strict nothing (its only message left).
    assert.equal(m.value("switchyard_subscription_backlog", { subscription: "jobs", topic: "jobs" }), 3);
    assert.equal(m.value("switchyard_subscription_in_flight", { subscription: "jobs", topic: "jobs" }), 3);
    assert.equal(m.value("switchyard_subscription_backlog", { subscription: "strict", topic: "jobs" }), 3);
    assert.equal(m.value("switchyard_topic_last_seq", jobs), 4);
    assert.equal(m.value("switchyard_topic_subscriptions", jobs), 2);
    // RPC latency per protocol and method; the bridges' own calls are counted apart.
    const publishLabels = { protocol: "connect", service: "switchyard.v1.PublisherService", method: "Publish" };
    assert.equal(histogramCount(m, "switchyard_rpc_request_duration_seconds", publishLabels), 3);
    assert.equal(m.value("switchyard_rpc_requests_total", { ...publishLabels, code: "ok" }), 3);
    assert.equal(
      m.value("switchyard_rpc_requests_total", {
        protocol: "connect",
        service: "switchyard.v1.AdminService",
        method: "GetTopic",
        code: "not_found",
      }),
      1,
    );
    assert.equal(m.value("switchyard_rpc_requests_total", { ...publishLabels, protocol: "in-process", code: "ok" }), 1);
    assert.ok(histogramCount(m, "switchyard_store_commit_duration_seconds") > 0);
    assert.ok(m.value("switchyard_store_size_bytes") > 0);
    assert.equal(m.value("switchyard_listener_connections", { listener: "gophermq" }), 0);
    assert.equal(m.value("switchyard_bridge_commands_total", { bridge: "gophermq", command: "publish" }), 2);
    assert.equal(m.value("switchyard_bridge_errors_total", { bridge: "gophermq", command: "publish" }), 1);
    // GopherMQ's own series are only on its metrics port.
    assert.equal(m.families.has("gophermq_client_request_rate"), false);

    const g = await scrape(`http://${s.addresses["gophermq-metrics"]}/metrics`);
    checkTypes(g);
    assert.equal(g.family("gophermq_client_request_rate").type, "COUNTER");
    assert.equal(g.family("gophermq_request_duration_seconds").type, "HISTOGRAM");
    const rate = (method: string, code: string) => g.value("gophermq_client_request_rate", { code, method });
    assert.equal(rate("subscribe", "200"), 1);
    assert.equal(rate("publish", "200"), 1);
    assert.equal(rate("publish", "404"), 1);
    assert.equal(rate("fetch", "200"), 1);
    assert.equal(g.family("gophermq_client_request_rate").metrics.length, 4);
    assert.equal(histogramCount(g, "gophermq_request_duration_seconds", { code: "404", method: "publish" }), 1);
    const buckets = (
      g.histogram("gophermq_request_duration_seconds", { code: "200", method: "fetch" })?.buckets ?? []
    ).map(([le]) => le);
    assert.deepEqual(buckets, ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]);
    assert.equal(g.value("switchyard_messages_published_total", jobs), 4);
    const other = await rawRequest(`http://${s.addresses["gophermq-metrics"]}/other`, { method: "GET" });
    assert.equal(other.status, 404);
    assert.equal(other.text, "404 page not found\n");
  });

  it("metrics - RPC latency and counts are labelled by the protocol each client spoke", async (t) => {
    const s = await startTestServer({ config: { okqPort: "off", gophermqPort: "off", gophermqMetricsPort: "off" } });
    t.after(() => s.close());
    for (const protocol of PROTOCOLS) {
      const c = createTestClients(s.baseUrl, protocol);
      try {
        await c.admin.listTopics({});
        await assert.rejects(c.admin.getTopic({ name: "missing" }));
      } finally {
        c.close();
      }
    }
    const m = await scrape(`${s.baseUrl}/metrics`);
    const admin = { service: "switchyard.v1.AdminService" };
    // The label is the wire protocol: Connect over HTTP/1.1 and over h2c (binary or JSON) are all `connect`.
    const label = (p: string) => (p.startsWith("connect") ? "connect" : p);
    const calls = new Map<string, number>();
    for (const p of PROTOCOLS) calls.set(label(p), (calls.get(label(p)) ?? 0) + 1);
    assert.deepEqual([...calls.keys()].sort(), ["connect", "grpc", "grpc-web"]);
    for (const [protocol, n] of calls) {
      const list = { protocol, ...admin, method: "ListTopics" };
      assert.equal(histogramCount(m, "switchyard_rpc_request_duration_seconds", list), n, protocol);
      assert.equal(m.value("switchyard_rpc_requests_total", { ...list, code: "ok" }), n, protocol);
      const get = { protocol, ...admin, method: "GetTopic", code: "not_found" };
      assert.equal(m.value("switchyard_rpc_requests_total", get), n, protocol);
    }
  });

  it("metrics - topics and subscriptions beyond the caps fold into an empty label, apart from a topic named other", async (t) => {
    const s = await startTestServer({ config: { okqPort: "off", metricsMaxTopics: 2, metricsMaxSubscriptions: 2 } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    // A real topic named "other" keeps its own series: the folded ones have an empty label
    // (no topic name is empty).
    for (const name of ["other", "t2", "t3", "t4"]) {
      await c.admin.createTopic({ name, queue: true });
      await c.publisher.publish({ topic: name, messages: [{ data: enc("x") }, { data: enc("yy") }] });
    }
    const m = await scrape(`${s.baseUrl}/metrics`);
    const published = m.family("switchyard_messages_published_total").metrics;
    assert.deepEqual(published.map((x) => [x.labels?.topic, Number(x.value)]).sort(), [
      ["", 4],
      ["other", 2],
      ["t2", 2],
    ]);
    // Topic gauges: sums fold, the newest seq is the largest.
    assert.equal(m.value("switchyard_topic_bytes", { topic: "" }), 6);
    assert.equal(m.value("switchyard_topic_bytes", { topic: "other" }), 3);
    assert.equal(m.value("switchyard_topic_last_seq", { topic: "" }), 2);
    const backlog = m.family("switchyard_subscription_backlog").metrics;
    assert.deepEqual(backlog.map((x) => [x.labels?.subscription, x.labels?.topic, Number(x.value)]).sort(), [
      ["", "", 4],
      ["other", "other", 2],
      ["t2", "t2", 2],
    ]);
  });
});
