/**
 * OPQ delivery on the core's push subscriptions: strict per-topic order, blocking with capped
 * exponential backoff, the 5xx and any-response rules, replay (Seek) and dead letters. Real
 * server on port 0, real HTTP targets.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Config } from "../../src/config/index.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { opqForm, opqPush } from "../helpers/opq-client.js";
import { startTestServer } from "../helpers/start-test-server.js";
import { type Received, startWebhookTarget } from "../helpers/webhook-target.js";

/** The `message` field of each request a target got. */
const messages = (got: Received[]) => got.map((r) => new URLSearchParams(r.body.toString()).get("message"));

async function replay(opq: string, topic: string, cmd: string) {
  const a = await opqForm(opq, "/opq/replay", [
    ["topic", topic],
    ["cmd", cmd],
  ]);
  assert.deepEqual([a.status, a.body], [201, "success"]);
}

/** Polls GetStats until `check` holds for the topic's subscription (a bounded wait, not a timing assertion). */
async function until(c: TestClients, topic: string, what: string, check: (s: SubStats) => boolean) {
  for (let i = 0; i < 400; i++) {
    const s = (await c.admin.getStats({ topics: [topic] })).subscriptions.find((x) => x.name === topic);
    if (s && check(s)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${topic}: never ${what}`);
}
type SubStats = Awaited<ReturnType<TestClients["admin"]["getStats"]>>["subscriptions"][number];

async function setup(config: Partial<Config> = {}) {
  const s = await startTestServer({ config: { opqTimeoutMs: 2_000, ...config } });
  const target = await startWebhookTarget();
  const c = createTestClients(s.baseUrl, "connect");
  return { s, target, c, opq: `http://${s.addresses.opq}` };
}

describe("opq delivery", () => {
  let env: Awaited<ReturnType<typeof setup>>;
  before(async () => {
    env = await setup();
  });
  after(async () => {
    env.c.close();
    await env.s.close();
    await env.target.close();
  });

  it("opq - a target that is down, then up, gets every message once, in push order", async () => {
    const { opq, c } = env;
    const down = await startWebhookTarget();
    const port = down.port;
    await down.close();
    const url = `http://127.0.0.1:${port}/later`;
    for (const m of ["m0", "m1", "m2", "m3"]) await opqPush(opq, "downup", url, [["message", m]]);
    const s = await until(c, "downup", "backed off twice", (x) => (x.push?.consecutiveFailures ?? 0) >= 2);
    assert.match(s.push?.lastError ?? "", /^ECONNREFUSED/);
    assert.equal(s.backlog, 4n);
    const up = await startWebhookTarget(port);
    try {
      const got = await up.waitFor("/later", 4);
      assert.deepEqual(messages(got), ["m0", "m1", "m2", "m3"]);
      await until(c, "downup", "drained", (x) => x.backlog === 0n);
      assert.equal(up.received.length, 4);
    } finally {
      await up.close();
    }
  });

  it("opq - a 5xx is retried (after a backoff) before the next message; a 4xx counts as delivered", async () => {
    const { opq, target } = env;
    target.on("/flaky", (r) => (messages([r])[0] === "a" && target.at("/flaky").length === 1 ? 500 : 200));
    target.on("/gone", () => 404);
    await opqPush(opq, "flaky", target.url("/flaky"), [["message", "a"]]);
    await opqPush(opq, "flaky", target.url("/flaky"), [["message", "b"]]);
    assert.deepEqual(messages(await target.waitFor("/flaky", 3)), ["a", "a", "b"]);
    await opqPush(opq, "gone", target.url("/gone"), [["message", "x"]]);
    await opqPush(opq, "gone", target.url("/gone"), [["message", "y"]]);
    assert.deepEqual(messages(await target.waitFor("/gone", 2)), ["x", "y"]);
  });

  it("opq - a blocked topic does not delay another; it keeps retrying with growing waits", async () => {
    const { opq, target, c } = env;
    target.on("/blocked", () => 503);
    await opqPush(opq, "blocked", target.url("/blocked"), [["message", "stuck"]]);
    await opqPush(opq, "blocked", target.url("/blocked"), [["message", "behind"]]);
    const s = await until(c, "blocked", "failed three times", (x) => (x.push?.consecutiveFailures ?? 0) >= 3);
    assert.equal(s.push?.lastError, "HTTP 503");
    assert.ok(s.push?.nextAttemptTime, "backing off, not retrying in a loop");
    await opqPush(opq, "free", target.url("/free"), [["message", "ok"]]);
    assert.deepEqual(messages(await target.waitFor("/free", 1)), ["ok"]);
    assert.deepEqual([...new Set(messages(target.at("/blocked")))], ["stuck"], "behind waits for stuck");
  });

  it("opq - replay rewinds (delivered messages go out again, in order) and fast-forwards past the end", async () => {
    const { opq, target } = env;
    for (let i = 0; i < 5; i++) await opqPush(opq, "rp", target.url("/rp"), [["message", `m${i}`]]);
    await target.waitFor("/rp", 5);
    await replay(opq, "rp", "2");
    assert.deepEqual(messages(await target.waitFor("/rp", 8)), ["m0", "m1", "m2", "m3", "m4", "m2", "m3", "m4"]);
    // Past the end (and negative, which OPQ read as a huge index): nothing is sent again; new pushes are.
    await replay(opq, "rp", "5");
    await replay(opq, "rp", "-1");
    await opqPush(opq, "rp", target.url("/rp"), [["message", "m5"]]);
    assert.deepEqual(messages(await target.waitFor("/rp", 9)).slice(8), ["m5"]);
    await replay(opq, "rp", "0");
    assert.deepEqual(messages(await target.waitFor("/rp", 15)).slice(9), ["m0", "m1", "m2", "m3", "m4", "m5"]);
  });

  it("opq - replay gets a topic out of a stuck retry, backwards or forwards, at once", async () => {
    const { opq, target, c } = env;
    target.on("/stuck", (r) => (messages([r])[0] === "bad" ? 500 : 200));
    for (const m of ["ok0", "bad", "ok2"]) await opqPush(opq, "stuck", target.url("/stuck"), [["message", m]]);
    await until(c, "stuck", "backing off", (x) => (x.push?.consecutiveFailures ?? 0) >= 4);
    const before = target.at("/stuck").length;
    assert.deepEqual([...new Set(messages(target.at("/stuck")))], ["ok0", "bad"]);
    // Back to the start: ok0 goes out again at once (no backoff wait), then bad blocks again.
    await replay(opq, "stuck", "0");
    const again = messages(await target.waitFor("/stuck", before + 2)).slice(before);
    assert.deepEqual(again, ["ok0", "bad"]);
    // Forward past bad: ok2 is delivered and bad is never tried again.
    await replay(opq, "stuck", "2");
    const got = messages(await target.waitFor("/stuck", before + 3));
    const ok2 = got.indexOf("ok2");
    assert.ok(ok2 > 0);
    await until(c, "stuck", "drained", (x) => x.backlog === 0n);
    assert.deepEqual(messages(target.at("/stuck")).slice(ok2 + 1), []);
  });
});

describe("opq delivery options", () => {
  it("opq - with --opq-any-response a 500 counts as delivered (OPQ's own rule)", async (t) => {
    const { s, target, c, opq } = await setup({ opqAnyResponse: true });
    t.after(async () => {
      c.close();
      await s.close();
      await target.close();
    });
    target.on("/any", () => 500);
    await opqPush(opq, "any", target.url("/any"), [["message", "a"]]);
    await opqPush(opq, "any", target.url("/any"), [["message", "b"]]);
    assert.deepEqual(messages(await target.waitFor("/any", 2)), ["a", "b"]);
    const sub = (await c.admin.getSubscription({ name: "any" })).subscription;
    assert.equal(sub?.push?.anyResponseIsSuccess, true);
    await until(c, "any", "drained", (x) => x.backlog === 0n);
  });

  it("opq - with --opq-max-attempts a message that keeps failing goes to the dead-letter topic and the topic moves on", async (t) => {
    const { s, target, c, opq } = await setup({ opqMaxAttempts: 2, opqDeadLetterTopic: "opq-dl" });
    t.after(async () => {
      c.close();
      await s.close();
      await target.close();
    });
    target.on("/dl", (r) => (messages([r])[0] === "bad" ? 502 : 200));
    await opqPush(opq, "dl", target.url("/dl"), [["message", "bad"]]);
    await opqPush(opq, "dl", target.url("/dl"), [["message", "good"]]);
    assert.deepEqual(messages(await target.waitFor("/dl", 3)), ["bad", "bad", "good"]);
    const pulled = await c.subscriber.pull({ subscription: "opq-dl", maxMessages: 10, waitMs: 5_000 });
    const letter = pulled.messages[0]?.message;
    assert.equal(letter?.attributes["form.message"], "bad");
    assert.equal(letter?.attributes["switchyard-dead-letter-source-topic"], "dl");
    assert.equal(letter?.attributes["switchyard-dead-letter-last-error"], "HTTP 502");
  });
});
