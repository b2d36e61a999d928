/**
 * The RestMQ bridge with the broker's users (its listener passes the server's authenticator and
 * clientsAs): HTTP Basic on REST, and the same users and rules as every other door. RestMQ had
 * no 403, so a refused permission is a 401 like missing credentials (the bridge's choice).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MATRIX_QUEUES, MATRIX_USERS } from "../helpers/auth-matrix.js";
import { createTestClients } from "../helpers/clients.js";
import { form, rawRequest } from "../helpers/raw-http.js";
import { bridgeMetric, openComet, waitUntil } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
const basic = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

before(async () => {
  server = await startTestServer({ config: { users: MATRIX_USERS } });
  const admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-admin" });
  try {
    for (const name of MATRIX_QUEUES) await admin.admin.createTopic({ name, queue: true });
  } finally {
    admin.close();
  }
});
after(() => server.close());

const liveConsumers = () => bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"');

describe("restmq auth", () => {
  it("restmq auth - HTTP Basic decides who may add and take, as on every door", async () => {
    const rest = server.addresses.restmq as string;
    const post = (queue: string, headers: Record<string, string>) => {
      const f = form("value=hello");
      return rawRequest(rest, "POST", `/q/${queue}`, { ...f, headers: { ...f.headers, ...headers } });
    };
    const missing = await post("orders", {});
    assert.equal(missing.status, 401);
    assert.match(String(missing.headers["www-authenticate"]), /^Basic realm=/);
    assert.equal((await post("orders", basic("pub", "nope"))).status, 401);
    const added = await post("orders", basic("pub", "pub-pw"));
    assert.equal(added.status, 200);
    assert.equal(added.body.toString(), "orders:1\r\n");
    assert.equal((await post("billing", basic("pub", "pub-pw"))).status, 401, "not among pub's topics");
    assert.equal((await rawRequest(rest, "GET", "/q/orders", { headers: basic("pub", "pub-pw") })).status, 401);
    const taken = await rawRequest(rest, "GET", "/q/orders", { headers: basic("sub", "sub-pw") });
    assert.equal(taken.status, 200);
    assert.match(taken.body.toString(), /hello/);
  });

  it("restmq auth - live consumers are checked as their user; DELETE checks its user before ending any", async () => {
    const rest = server.addresses.restmq as string;
    const as = (user: string) => basic(user, `${user}-pw`);
    const refused = openComet(rest, "/c/orders", as("pub"));
    await refused.ended;
    assert.equal(refused.response()?.statusCode, 401, "pub may not read orders");
    const comet = openComet(rest, "/c/orders", as("sub"));
    try {
      await waitUntil(async () => (await liveConsumers()) === 1, "sub's comet consumer");
      const denied = await rawRequest(rest, "DELETE", "/q/orders", { headers: as("pub") });
      assert.equal(denied.status, 401, "pub may not empty orders");
      const f = form("value=live");
      const added = await rawRequest(rest, "POST", "/q/orders", { ...f, headers: { ...f.headers, ...as("pub") } });
      const line = `{"key": "${added.body.toString().trim()}", "value": "live"}`;
      assert.deepEqual(await comet.waitForLines(1), [line], "still fed");
      const done = await rawRequest(rest, "DELETE", "/q/orders", { headers: as("both") });
      assert.equal(done.body.toString(), '{"queue": "orders", "status": 0}\r\n');
      await comet.ended;
      assert.deepEqual(comet.lines, [line, "null"]);
    } finally {
      refused.close();
      comet.close();
    }
  });

  it("restmq auth - an add the broker refuses creates no queue (REST, POST / and the JSON protocol)", async () => {
    const rest = server.addresses.restmq as string;
    const admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-admin" });
    const topics = async () => (await admin.admin.listTopics({})).topics.map((t) => t.name).sort();
    const add = (path: string, body: string, headers: Record<string, string>) => {
      const f = form(body);
      return rawRequest(rest, "POST", path, { ...f, headers: { ...f.headers, ...headers } });
    };
    try {
      const before = await topics();
      // pub publishes to orders and orders.*; sub has no publisher role; nobody has no credentials.
      const refused = [
        await add("/q/billing.new", "value=x", basic("pub", "pub-pw")),
        await add("/q/orders.new", "value=x", basic("sub", "sub-pw")),
        await add("/q/orders.new", "value=x", {}),
        await add("/", "queue=billing.new&value=x", basic("pub", "pub-pw")),
        await add(
          "/queue",
          `body=${encodeURIComponent('{"cmd":"add","queue":"billing.new","value":"x"}')}`,
          basic("pub", "pub-pw"),
        ),
      ];
      assert.deepEqual(
        refused.map((r) => r.status),
        [401, 401, 401, 401, 401],
      );
      assert.deepEqual(await topics(), before, "no queue was created for a refused add");
      const ok = await add("/q/orders.new", "value=x", basic("pub", "pub-pw"));
      assert.deepEqual([ok.status, ok.body.toString()], [200, "orders.new:1\r\n"]);
      assert.deepEqual(await topics(), [...before, "orders.new"].sort());
    } finally {
      admin.close();
    }
  });

  it("restmq auth - /p and /control change a queue's policy and state for admin only", async () => {
    const rest = server.addresses.restmq as string;
    const as = (user: string) => basic(user, `${user}-pw`);
    const post = (path: string, body: string, headers: Record<string, string>) => {
      const f = form(body);
      return rawRequest(rest, "POST", path, { ...f, headers: { ...f.headers, ...headers } });
    };
    const state = async () => {
      const p = await rawRequest(rest, "GET", "/p/orders", { headers: as("admin") });
      const c = await rawRequest(rest, "GET", "/control/orders", { headers: as("both") });
      return [p.body.toString(), c.body.toString()];
    };
    const before = await state();
    for (const user of ["pub", "sub", "both", "reader"]) {
      const policy = await post("/p/orders", "policy=roundrobin", as(user));
      assert.equal(policy.status, 401, `${user} may not set a policy`);
      const control = await post("/control/orders", "status=stop", as(user));
      assert.equal(control.status, 401, `${user} may not stop a queue`);
    }
    assert.equal((await post("/control/orders", "status=stop", {})).status, 401, "nor may nobody");
    assert.deepEqual(await state(), before, "nothing changed");
    const policy = await post("/p/orders", "policy=roundrobin", as("admin"));
    assert.deepEqual([policy.status, policy.body.toString()], [200, "OK\r\n"]);
    const stopped = await post("/control/orders", "status=stop", as("admin"));
    assert.deepEqual(
      [stopped.status, stopped.body.toString()],
      [200, '{"stat": {"queue": "orders", "status": 0}}\r\n'],
    );
    const started = await post("/control/orders", "status=start", as("admin"));
    assert.equal(started.status, 200);
    await post("/p/orders", "policy=broadcast", as("admin"));
  });
});
