/**
 * The OPQ bridge with the broker's users (README "OPQ bridge", "Auth and TLS"): producers log in
 * with HTTP Basic (or a bearer token), refusals answer in OPQ's text style (401 Unauthorized, 403
 * Forbidden), a refused producer creates and stores nothing, the producer's Authorization header
 * never reaches the target, and replays are Seeks that need the subscriber role. Real server,
 * real producer and target over HTTP, real LMDB.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { UserConfig } from "../../src/auth/index.js";
import { createFakeClock } from "../../src/util/index.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { opqForm } from "../helpers/opq-client.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget, type WebhookTarget } from "../helpers/webhook-target.js";

const USERS: UserConfig[] = [
  { name: "producer", password: "producer-pw", tokens: ["tok-producer"], roles: ["publisher"], topics: ["jobs*"] },
  { name: "ops", password: "ops-pw", tokens: [], roles: ["subscriber"], topics: ["jobs*"] },
  { name: "admin", password: "admin-pw", tokens: ["tok-admin"], roles: ["admin", "subscriber"], topics: ["*"] },
];
const basic = (user: string, password: string): [string, string] => [
  "Authorization",
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
];
const TEXT = "text/plain; charset=utf-8";
const CHALLENGE = 'Basic realm="switchyard", charset="UTF-8"';

describe("opq auth", () => {
  const clock = createFakeClock();
  let s: TestServer;
  let target: WebhookTarget;
  let opq: string;
  let admin: TestClients;
  before(async () => {
    s = await startTestServer({ config: { users: USERS }, authClock: clock });
    target = await startWebhookTarget();
    opq = `http://${s.addresses.opq}`;
    admin = createTestClients(s.baseUrl, "connect", { authorization: "Bearer tok-admin" });
  });
  after(async () => {
    admin.close();
    await s.close();
    await target.close();
  });

  const topicNames = async () => (await admin.admin.listTopics({})).topics.map((t) => t.name).sort();
  const push = (topic: string, headers: [string, string][] = [], path = "/hook") =>
    opqForm(
      opq,
      "/opq/push",
      [
        ["topic", topic],
        ["url", target.url(path)],
        ["message", "m"],
      ],
      headers,
    );

  it("opq auth - no or wrong credentials: 401 Unauthorized with a Basic challenge; nothing created or stored", async () => {
    const before = await topicNames();
    const missing = await push("jobs");
    assert.deepEqual(
      [missing.status, missing.headers["content-type"], missing.body],
      [401, TEXT, "Unauthorized: credentials required: HTTP Basic or a bearer token"],
    );
    assert.equal(missing.headers["www-authenticate"], CHALLENGE);
    assert.equal(missing.headers.connection, "close", "the body was not read: the connection is not reused");
    const wrong = await push("jobs", [basic("producer", "guess")]);
    assert.deepEqual([wrong.status, wrong.body], [401, "Unauthorized: invalid user name or password"]);
    const replay = await opqForm(opq, "/opq/replay", [
      ["topic", "jobs"],
      ["cmd", "0"],
    ]);
    assert.equal(replay.status, 401);
    assert.deepEqual(await topicNames(), before, "no topic was created");
    assert.equal(target.received.length, 0);
  });

  it("opq auth - a producer pushes as its user; the target never sees the producer's Authorization", async () => {
    const a = await push("jobs.eu", [basic("producer", "producer-pw"), ["X-Trace", "t-1"]], "/eu");
    assert.deepEqual([a.status, a.body], [201, "success"]);
    const [got] = await target.waitFor("/eu", 1);
    assert.equal(got?.headers["x-trace"], "t-1", "the producer's other headers are forwarded");
    assert.equal(got?.headers.authorization, undefined, "the broker's credentials are not forwarded");
    assert.doesNotMatch(got?.body.toString() ?? "", /producer-pw|Basic/);
    const token = await push("jobs.eu", [["Authorization", "Bearer tok-producer"]], "/eu");
    assert.deepEqual([token.status, token.body], [201, "success"]);
    const [, second] = await target.waitFor("/eu", 2);
    assert.equal(second?.headers.authorization, undefined);
    // Stored as attributes: no header.Authorization among them either.
    const read = admin.replay.read({ topic: "jobs.eu", from: { case: "fromSeq", value: 1n }, follow: false });
    for await (const { messages } of read) {
      for (const m of messages) assert.ok(!Object.keys(m.attributes).some((k) => /authorization/i.test(k)));
    }
  });

  it("opq auth - a topic outside the producer's: 403 Forbidden, and the topic is not created", async () => {
    const before = await topicNames();
    const denied = await push("billing", [basic("producer", "producer-pw")]);
    assert.deepEqual(
      [denied.status, denied.headers["content-type"], denied.body],
      [403, TEXT, 'Forbidden: user "producer" may not publish to topic "billing"'],
    );
    const role = await push("jobs.us", [basic("ops", "ops-pw")]);
    assert.deepEqual([role.status, role.body], [403, 'Forbidden: user "ops" does not have the publisher role']);
    assert.deepEqual(await topicNames(), before, "neither billing nor jobs.us was created");
    // An existing OPQ topic: the refused push stores nothing on it.
    const seqBefore = (await admin.admin.getStats({ topics: ["jobs.eu"] })).topics[0]?.lastSeq;
    assert.equal((await push("jobs.eu", [basic("ops", "ops-pw")])).status, 403);
    assert.equal((await admin.admin.getStats({ topics: ["jobs.eu"] })).topics[0]?.lastSeq, seqBefore);
  });

  it("opq auth - a replay is a Seek: the subscriber role on the topic, 403 for a producer", async () => {
    const denied = await opqForm(
      opq,
      "/opq/replay",
      [
        ["topic", "jobs.eu"],
        ["cmd", "0"],
      ],
      [basic("producer", "producer-pw")],
    );
    assert.deepEqual(
      [denied.status, denied.body],
      [403, 'Forbidden: user "producer" does not have the subscriber role'],
    );
    const delivered = target.at("/eu").length;
    const ok = await opqForm(
      opq,
      "/opq/replay",
      [
        ["topic", "jobs.eu"],
        ["cmd", "0"],
      ],
      [basic("ops", "ops-pw")],
    );
    assert.deepEqual([ok.status, ok.body], [201, "success"]);
    await target.waitFor("/eu", delivered + 2);
    // A topic the user may use but that has no OPQ delivery: OPQ's "not ready", as without users.
    const none = await opqForm(
      opq,
      "/opq/replay",
      [
        ["topic", "jobs.none"],
        ["cmd", "0"],
      ],
      [basic("ops", "ops-pw")],
    );
    assert.deepEqual([none.status, none.body], [500, "delivery service is not ready"]);
  });

  it("opq auth - repeated failures from one address: 401 with Retry-After, then the right password works again", async () => {
    for (let i = 0; i < 6; i++) assert.equal((await push("jobs", [basic("producer", `guess-${i}`)])).status, 401);
    const blocked = await push("jobs", [basic("producer", "producer-pw")]);
    assert.deepEqual(
      [blocked.status, blocked.body, blocked.headers["retry-after"]],
      [401, "Unauthorized: too many failed logins from this address; retry in 1 s", "1"],
    );
    clock.advance(1_000);
    assert.equal((await push("jobs", [basic("producer", "producer-pw")])).status, 201);
  });
});
