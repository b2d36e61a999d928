/**
 * The GopherMQ bridge with the broker's users (README "GopherMQ bridge", "Auth and TLS"): API
 * requests log in with HTTP Basic (or a bearer token) and are answered as Echo's BasicAuth would
 * (401 `{"message":"Unauthorized"}`) or 403 `{"message":"Forbidden"}`; a refused user creates,
 * stores and takes nothing; `/ready` stays open. Real server, sockets and LMDB.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../src/auth/index.js";
import { createFakeClock } from "../../src/util/index.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { type RawResponse, rawRequest } from "../helpers/http-raw.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const USERS: UserConfig[] = [
  { name: "pub", password: "pub-pw", tokens: ["tok-pub"], roles: ["publisher"], topics: ["orders.*"] },
  { name: "sub", password: "sub-pw", tokens: [], roles: ["subscriber"], topics: ["orders.*"] },
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin"], topics: [] },
];
const JSON_TYPE = "application/json; charset=UTF-8";
const basic = (user: string, password = `${user}-pw`) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

describe("gophermq auth", () => {
  const clock = createFakeClock();
  let server: TestServer;
  let base: string;
  let admin: TestClients;
  before(async () => {
    server = await startTestServer({ config: { users: USERS, okqPort: "off" }, authClock: clock });
    base = `http://${server.addresses.gophermq}`;
    admin = createTestClients(server.baseUrl, "connect", { authorization: "Bearer tok-admin" });
  });
  after(async () => {
    admin.close();
    await server.close();
  });

  const post = (path: string, value: unknown, headers: Record<string, string> = {}) =>
    rawRequest(`${base}${path}`, {
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(value),
    });
  const expectJson = (res: RawResponse, status: number, body: string) => {
    assert.deepEqual([res.status, res.headers["content-type"], res.text], [status, JSON_TYPE, body]);
  };
  const state = async () => {
    const { topics, subscriptions } = await admin.admin.getStats({});
    return JSON.stringify([
      topics.map((t) => [t.name, String(t.lastSeq)]),
      subscriptions.map((s) => [s.name, String(s.backlog)]),
    ]);
  };

  it("gophermq auth - no or wrong credentials: Echo's 401 with a Basic challenge; /ready stays open", async () => {
    const missing = await post("/api/subscribe", { subject: "orders.eu" });
    expectJson(missing, 401, '{"message":"Unauthorized"}\n');
    assert.equal(missing.headers["www-authenticate"], 'Basic realm="switchyard", charset="UTF-8"');
    assert.equal(missing.headers.connection, "close", "the body was not read");
    expectJson(
      await post("/api/publish", { subject: "orders.eu", data: "x" }, basic("pub", "nope")),
      401,
      '{"message":"Unauthorized"}\n',
    );
    expectJson(await post("/api/fetch", { subject: "orders.eu", id: "x" }), 401, '{"message":"Unauthorized"}\n');
    expectJson(
      await post("/api/publish/async", { subject: "orders.eu", data: "x" }),
      401,
      '{"message":"Unauthorized"}\n',
    );
    assert.equal((await rawRequest(`${base}/ready`, { method: "GET" })).status, 204);
  });

  it("gophermq auth - subscribe, publish and fetch as users; refusals are 403 and change nothing", async () => {
    const before = await state();
    expectJson(await post("/api/subscribe", { subject: "orders.eu" }, basic("pub")), 403, '{"message":"Forbidden"}\n');
    expectJson(await post("/api/subscribe", { subject: "billing" }, basic("sub")), 403, '{"message":"Forbidden"}\n');
    assert.equal(await state(), before, "a refused subscribe creates no topic and no subscription");

    const subscribed = await post("/api/subscribe", { subject: "orders.eu" }, basic("sub"));
    assert.equal(subscribed.status, 200, subscribed.text);
    const { id } = JSON.parse(subscribed.text) as { id: string };

    const refusedPublish = await state();
    expectJson(
      await post("/api/publish", { subject: "orders.eu", data: "no" }, basic("sub")),
      403,
      '{"message":"Forbidden"}\n',
    );
    expectJson(
      await post("/api/publish", { subject: "billing", data: "no" }, basic("pub")),
      403,
      '{"message":"Forbidden"}\n',
    );
    expectJson(
      await post("/api/publish/async", { subject: "orders.eu", data: "no" }, basic("sub")),
      403,
      '{"message":"Forbidden"}\n',
    );
    assert.equal(await state(), refusedPublish, "a refused publish stores nothing");

    expectJson(
      await post("/api/publish", { subject: "orders.eu", data: "one" }, basic("pub")),
      200,
      '{"status":"ok"}\n',
    );
    const token = await post(
      "/api/publish",
      { subject: "orders.eu", data: "two" },
      { authorization: "Bearer tok-pub" },
    );
    expectJson(token, 200, '{"status":"ok"}\n');

    const refusedFetch = await state();
    expectJson(await post("/api/fetch", { subject: "orders.eu", id }, basic("pub")), 403, '{"message":"Forbidden"}\n');
    assert.equal(await state(), refusedFetch, "a refused fetch takes nothing");
    expectJson(
      await post("/api/fetch", { subject: "orders.eu", id }, basic("sub")),
      200,
      `{"data":["one","two"],"id":"${id}","subject":"orders.eu"}\n`,
    );
  });

  it("gophermq auth - repeated failures from one address: 401 with Retry-After, then the right password works", async () => {
    for (let i = 0; i < 6; i++) {
      assert.equal(
        (await post("/api/publish", { subject: "orders.eu", data: "x" }, basic("pub", `guess-${i}`))).status,
        401,
      );
    }
    const blocked = await post("/api/publish", { subject: "orders.eu", data: "x" }, basic("pub"));
    expectJson(blocked, 401, '{"message":"Unauthorized"}\n');
    assert.equal(blocked.headers["retry-after"], "1");
    clock.advance(1_000);
    expectJson(await post("/api/publish", { subject: "orders.eu", data: "x" }, basic("pub")), 200, '{"status":"ok"}\n');
  });
});
