/**
 * Auth on the RPC port beyond the matrix: the Connect JSON error and WWW-Authenticate on the
 * wire, open endpoints, Subscribe (server streaming), subscriptions whose topic is not their
 * name, unknown subscriptions, GetStats per topic, and the failed-login slow-down per peer over
 * RPC and RESP (injected clock).
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it, type TestContext } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { UserConfig } from "../../src/auth/index.js";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createFakeClock } from "../../src/util/index.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { rawClient } from "../helpers/okq-harness.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const USERS: UserConfig[] = [
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin"], topics: [] },
  { name: "app", password: "app-pw", tokens: [], roles: ["publisher", "subscriber"], topics: ["orders", "q-*"] },
  { name: "audit", password: "audit-pw", tokens: [], roles: ["subscriber"], topics: ["audit"] },
];
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

async function setup(t: TestContext, options: Parameters<typeof startTestServer>[0] = {}) {
  const server = await startTestServer({ ...options, config: { users: USERS, ...options.config } });
  const opened: TestClients[] = [];
  const clients = (authorization?: string) => {
    const c = createTestClients(server.baseUrl, "connect", authorization ? { authorization } : {});
    opened.push(c);
    return c;
  };
  t.after(async () => {
    for (const c of opened) c.close();
    await server.close();
  });
  return { server, clients, admin: clients("Bearer tok-admin"), app: clients(basic("app", "app-pw")) };
}

async function refusal(call: Promise<unknown>) {
  const err = await call.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => ConnectError.from(e),
  );
  const detail = err.findDetails(ErrorDetailSchema)[0];
  return { code: err.code, reason: detail?.reason, metadata: detail?.metadata ?? {}, message: err.rawMessage };
}

async function post(server: TestServer, path: string, body: unknown, authorization?: string) {
  const res = await fetch(`${server.baseUrl}/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe("auth rpc", () => {
  it("auth rpc - Connect JSON: 401 with WWW-Authenticate and reason, 403 naming role and topic", async (t) => {
    const { server } = await setup(t);
    const missing = await post(server, "switchyard.v1.AdminService/ListTopics", {});
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Basic realm="switchyard", charset="UTF-8"');
    assert.equal(missing.json.code, "unauthenticated");
    assert.match(JSON.stringify(missing.json.details), /"type":"switchyard.v1.ErrorDetail"/);
    const denied = await post(
      server,
      "switchyard.v1.PublisherService/Publish",
      { topic: "billing", messages: [{ data: "eA==" }] },
      basic("app", "app-pw"),
    );
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, "permission_denied");
    assert.equal(denied.json.message, 'user "app" may not publish to topic "billing"');
    const role = await post(server, "switchyard.v1.AdminService/ListTopics", {}, basic("app", "app-pw"));
    assert.equal(role.status, 403);
    assert.equal(role.json.message, 'user "app" does not have the admin role');
  });

  it("auth rpc - health, reflection, /healthz and /metrics need no credentials", async (t) => {
    const { server, clients } = await setup(t);
    const anonymous = clients();
    assert.equal((await anonymous.health.check({})).status, 1);
    assert.equal((await fetch(`${server.baseUrl}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.baseUrl}/metrics`)).status, 200);
    const r = await refusal(anonymous.admin.getStats({}));
    assert.equal(r.code, Code.Unauthenticated);
  });

  it("auth rpc - Subscribe (server streaming) is judged before it starts; allowed streams get messages", async (t) => {
    const { admin, app } = await setup(t);
    await admin.admin.createTopic({ name: "audit", queue: true });
    await admin.admin.createTopic({ name: "q-orders", queue: true });
    const stop = new AbortController();
    t.after(() => stop.abort());
    const denied = await refusal(
      (async () => {
        for await (const _ of app.subscriber.subscribe({ subscription: "audit" }, { signal: stop.signal })) break;
      })(),
    );
    assert.deepEqual(
      [denied.code, denied.reason, denied.metadata.topic],
      [Code.PermissionDenied, "PERMISSION_DENIED", "audit"],
    );
    await app.publisher.publish({ topic: "q-orders", messages: [{ data: new Uint8Array([1]) }] });
    for await (const res of app.subscriber.subscribe({ subscription: "q-orders" }, { signal: stop.signal })) {
      assert.equal(res.messages.length, 1, "an allowed stream delivers");
      break;
    }
    stop.abort();
  });

  it("auth rpc - a subscription is judged by its topic, followed when it is deleted and made again", async (t) => {
    const { admin, clients } = await setup(t);
    const auditor = clients(basic("audit", "audit-pw"));
    await admin.admin.createTopic({ name: "audit" });
    await admin.admin.createTopic({ name: "orders" });
    await admin.admin.createSubscription({ subscription: { name: "s1", topic: "audit" } });
    assert.deepEqual((await auditor.subscriber.pull({ subscription: "s1" })).messages, []);
    await admin.admin.deleteSubscription({ name: "s1" });
    await admin.admin.createSubscription({ subscription: { name: "s1", topic: "orders" } });
    const r = await refusal(auditor.subscriber.pull({ subscription: "s1" }));
    assert.deepEqual([r.code, r.metadata.topic, r.metadata.subscription], [Code.PermissionDenied, "orders", "s1"]);
  });

  it("auth rpc - an unknown subscription is judged by its name: NOT_FOUND if allowed, else PERMISSION_DENIED", async (t) => {
    const { app } = await setup(t);
    const allowed = await refusal(app.subscriber.peek({ subscription: "q-missing" }));
    assert.deepEqual([allowed.code, allowed.reason], [Code.NotFound, "SUBSCRIPTION_NOT_FOUND"]);
    const denied = await refusal(app.subscriber.peek({ subscription: "missing" }));
    assert.deepEqual([denied.code, denied.reason], [Code.PermissionDenied, "PERMISSION_DENIED"]);
  });

  it("auth rpc - GetStats: admins see all; others only topics they publish to or consume from", async (t) => {
    const { admin, app } = await setup(t);
    await admin.admin.createTopic({ name: "orders", queue: true });
    await admin.admin.createTopic({ name: "billing", queue: true });
    assert.equal((await admin.admin.getStats({})).topics.length, 2);
    assert.deepEqual(
      (await app.admin.getStats({ topics: ["orders"] })).topics.map((x) => x.name),
      ["orders"],
    );
    assert.equal((await refusal(app.admin.getStats({}))).metadata.required_role, "admin");
    assert.equal((await refusal(app.admin.getStats({ topics: ["orders", "billing"] }))).metadata.topic, "billing");
  });

  it("auth rpc - repeated failed logins from one peer are slowed down, over RPC and RESP (injected clock)", async (t) => {
    const clock = createFakeClock();
    const { server, clients } = await setup(t, { authClock: clock });
    const wrong = clients(basic("app", "guess"));
    const right = clients(basic("app", "app-pw"));
    for (let i = 0; i < 6; i++) assert.equal((await refusal(wrong.admin.getStats({}))).code, Code.Unauthenticated);
    const blocked = await refusal(
      right.publisher.publish({ topic: "orders", messages: [{ data: new Uint8Array([1]) }] }),
    );
    assert.equal(blocked.code, Code.Unauthenticated);
    assert.match(blocked.message, /too many failed logins from this address; retry in 1 s/);
    assert.equal(blocked.metadata.retry_after_ms, "1000");
    // The same peer (127.0.0.1) over RESP is blocked too.
    const { host, port } = server.okq as { host: string; port: number };
    const socket = net.connect(port, host);
    t.after(() => socket.destroy());
    await new Promise((resolve) => socket.once("connect", resolve));
    const resp = rawClient(socket);
    await resp.roundtrip(
      encodeCommand(["AUTH", "app", "app-pw"]),
      "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
    );
    clock.advance(1_000);
    await resp.roundtrip(encodeCommand(["AUTH", "app", "app-pw"]), "+OK\r\n");
    // Past the wait the right password works over RPC too (NOT_FOUND: let in, and the queue is not there).
    assert.equal((await refusal(right.subscriber.peek({ subscription: "q-none" }))).code, Code.NotFound);
  });
});
