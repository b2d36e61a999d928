/**
 * The RPC port end to end: one port serves Connect (HTTP/1.1), gRPC (h2c) and gRPC-web, plus
 * /healthz, /metrics, health checks and reflection (checked with buf curl).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { createTestClients, PROTOCOLS } from "../helpers/clients.js";
import { ROOT } from "../helpers/spawn-cli.js";
import { startTestServer } from "../helpers/start-test-server.js";

const run = promisify(execFile);
const BUF = join(ROOT, "node_modules/.bin/buf");

/** Fetches without keeping the connection alive, so close() never waits on fetch's pool. */
function get(url: string, method = "GET"): Promise<Response> {
  return fetch(url, { method, headers: { connection: "close" } });
}

describe("server", () => {
  it("server - /healthz answers 200 ok", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const res = await get(`${s.baseUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "ok\n");
    assert.equal((await get(`${s.baseUrl}/healthz`, "HEAD")).status, 200);
    assert.equal((await get(`${s.baseUrl}/healthz`, "DELETE")).status, 405);
  });

  it("server - unknown paths get 404", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const res = await get(`${s.baseUrl}/nope`);
    assert.equal(res.status, 404);
    await res.arrayBuffer();
  });

  it("server - /metrics exposes topic and subscription gauges", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "jobs", queue: true });
    await c.publisher.publish({
      topic: "jobs",
      messages: [{ data: new Uint8Array([1, 2, 3]) }, { data: new Uint8Array(2) }],
    });
    const res = await get(`${s.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const lines = text.split("\n");
    assert.ok(lines.includes('switchyard_topic_messages{topic="jobs"} 2'), text);
    assert.ok(lines.includes('switchyard_topic_bytes{topic="jobs"} 5'), text);
    assert.ok(lines.includes('switchyard_subscription_backlog{subscription="jobs",topic="jobs"} 2'), text);
    assert.ok(lines.includes('switchyard_subscription_in_flight{subscription="jobs",topic="jobs"} 0'), text);
    assert.ok(lines.includes('switchyard_subscription_consumers{subscription="jobs",topic="jobs"} 0'), text);
    assert.ok(
      lines.some((l) => l.startsWith('switchyard_subscription_oldest_unacked_age_seconds{subscription="jobs"')),
    );
    // Renamed in the move to prom-client (README "Metrics"): process_start_time_seconds.
    assert.match(text, /^process_start_time_seconds \d/m);
    assert.match(text, /# TYPE switchyard_topic_messages gauge/);
  });

  for (const protocol of PROTOCOLS) {
    it(`server - ${protocol}: publish, pull, ack and error details on the one port`, async (t) => {
      const s = await startTestServer();
      t.after(() => s.close());
      const c = createTestClients(s.baseUrl, protocol);
      t.after(() => c.close());
      await c.admin.createTopic({ name: "q", queue: true });
      const published = await c.publisher.publish({ topic: "q", messages: [{ data: new TextEncoder().encode("hi") }] });
      assert.equal(published.results[0]?.seq, 1n);
      const pulled = await c.subscriber.pull({ subscription: "q", maxMessages: 10, waitMs: 1000 });
      assert.equal(pulled.messages.length, 1);
      assert.equal(new TextDecoder().decode(pulled.messages[0]?.message?.data), "hi");
      await c.subscriber.ack({ subscription: "q", ackIds: [pulled.messages[0]?.ackId ?? ""] });
      const topics = await c.admin.listTopics({});
      assert.deepEqual(
        topics.topics.map((x) => x.name),
        ["q"],
      );
      const err = await c.admin.getTopic({ name: "missing" }).then(
        () => assert.fail("expected NOT_FOUND"),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.NotFound);
      assert.equal(err.findDetails(ErrorDetailSchema)[0]?.reason, "TOPIC_NOT_FOUND");
    });

    it(`server - ${protocol}: grpc.health.v1.Health/Check says SERVING`, async (t) => {
      const s = await startTestServer();
      t.after(() => s.close());
      const c = createTestClients(s.baseUrl, protocol);
      t.after(() => c.close());
      assert.equal((await c.health.check({})).status, Status.SERVING);
      assert.equal((await c.health.check({ service: "switchyard.v1.PublisherService" })).status, Status.SERVING);
      const err = await c.health.check({ service: "nope" }).then(
        () => assert.fail("expected NOT_FOUND"),
        (e: unknown) => ConnectError.from(e),
      );
      assert.equal(err.code, Code.NotFound);
    });
  }

  it("server - reflection: buf curl --reflect --list-services lists every service", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const { stdout } = await run(
      BUF,
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect", "--list-services", s.baseUrl],
      { timeout: 30_000 },
    );
    const services = stdout.trim().split("\n");
    for (const name of [
      "switchyard.v1.PublisherService",
      "switchyard.v1.SubscriberService",
      "switchyard.v1.ReplayService",
      "switchyard.v1.AdminService",
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]) {
      assert.ok(services.includes(name), `${name} missing from:\n${stdout}`);
    }
  });

  it("server - reflection: buf curl calls AdminService/ListTopics without proto files", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "reflected" });
    const { stdout } = await run(
      BUF,
      [
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-d",
        "{}",
        `${s.baseUrl}/switchyard.v1.AdminService/ListTopics`,
      ],
      { timeout: 30_000 },
    );
    const body = JSON.parse(stdout) as { topics: { name: string }[] };
    assert.deepEqual(
      body.topics.map((x) => x.name),
      ["reflected"],
    );
  });
});
