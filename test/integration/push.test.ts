/**
 * Push subscriptions (webhooks) end to end: the real server (LMDB in a temp dir), the generated
 * clients, and a real local HTTP server as the webhook target that succeeds, fails, times out,
 * holds requests open and recovers.
 */
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { describe, it, type TestContext } from "node:test";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { PushConfig } from "../../gen/switchyard/v1/types_pb.js";
import type { Config } from "../../src/config/index.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";
import { startWebhookTarget } from "../helpers/webhook-target.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined; field?: string }> {
  const err = await call.then(
    () => assert.fail("expected the call to fail"),
    (e: unknown) => ConnectError.from(e),
  );
  const detail = err.findDetails(ErrorDetailSchema)[0];
  return { code: err.code, reason: detail?.reason, field: detail?.metadata.field };
}

async function setup(t: TestContext, config: Partial<Config> = {}) {
  const target = await startWebhookTarget();
  const server = await startTestServer({ config });
  const c = createTestClients(server.baseUrl, "connect");
  t.after(async () => {
    c.close();
    await server.close();
    await target.close();
  });
  return { target, server, c };
}

type Push = Partial<Omit<PushConfig, "$typeName">>;

async function pushSub(c: TestClients, name: string, topic: string, push: Push) {
  await c.admin.createSubscription({ subscription: { name, topic, push } });
}

async function stats(c: TestClients, name: string) {
  const res = await c.admin.getStats({});
  const s = res.subscriptions.find((x) => x.name === name);
  assert.ok(s, `stats of ${name}`);
  return s;
}

/** Polls GetStats (a bounded wait for a state, not a timing assertion). */
async function statsUntil(c: TestClients, name: string, ok: (s: Awaited<ReturnType<typeof stats>>) => boolean) {
  for (let i = 0; i < 400; i++) {
    const s = await stats(c, name);
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`stats of ${name} never reached the expected state: ${JSON.stringify(await stats(c, name), bigints)}`);
}

const bigints = (_k: string, v: unknown) => (typeof v === "bigint" ? String(v) : v);

describe("push subscriptions", () => {
  it("push - raw body with Switchyard headers, custom headers and a verifiable HMAC signature", async (t) => {
    const { target, c } = await setup(t);
    await c.admin.createTopic({ name: "orders" });
    await pushSub(c, "hook", "orders", {
      endpoint: target.url("/in?x=1"),
      headers: { "X-Token": "abc", "Content-Type": "text/plain; charset=utf-8" },
      hmacSecret: "s3cret",
    });
    await c.publisher.publish({
      topic: "orders",
      messages: [
        {
          data: utf8("hello wörld"),
          id: "order-1",
          orderingKey: "cust 7",
          attributes: { kind: "created", "ünï key": "välue 100%" },
        },
      ],
    });
    const [r] = await target.waitFor("/in?x=1", 1);
    assert.ok(r);
    assert.equal(r.method, "POST");
    assert.equal(r.body.toString(), "hello wörld");
    const h = r.headers;
    assert.equal(h["content-type"], "text/plain; charset=utf-8");
    assert.equal(h["x-token"], "abc");
    assert.equal(h["switchyard-topic"], "orders");
    assert.equal(h["switchyard-subscription"], "hook");
    assert.equal(h["switchyard-seq"], "1");
    assert.equal(h["switchyard-id"], "order-1");
    assert.equal(h["switchyard-delivery-attempt"], "1");
    assert.equal(h["switchyard-ordering-key"], "cust 7");
    assert.ok(Number.isFinite(Date.parse(h["switchyard-publish-time"] as string)));
    assert.equal(h["switchyard-attr-kind"], "created");
    // Keys and values outside plain ASCII are percent-encoded; decodeURIComponent restores them.
    const encodedKey = `switchyard-attr-${encodeURIComponent("ünï key")}`.toLowerCase();
    assert.equal(decodeURIComponent(h[encodedKey] as string), "välue 100%");
    const expected = `sha256=${createHmac("sha256", "s3cret").update(r.body).digest("hex")}`;
    assert.equal(h["switchyard-signature"], expected);
    const s = await statsUntil(c, "hook", (x) => x.backlog === 0n);
    assert.equal(s.push?.lastStatus, 200);
    assert.equal(s.push?.consecutiveFailures, 0);
  });

  it("push - wrap sends the JSON envelope (no attribute headers)", async (t) => {
    const { target, c } = await setup(t);
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "w", "t", { endpoint: target.url("/w"), wrap: true });
    const pub = await c.publisher.publish({
      topic: "t",
      messages: [{ data: new Uint8Array([0, 1, 255]), attributes: { a: "1" }, priority: 3 }],
    });
    const [r] = await target.waitFor("/w", 1);
    assert.ok(r);
    assert.equal(r.headers["content-type"], "application/json");
    assert.equal(r.headers["switchyard-attr-a"], undefined);
    const body = JSON.parse(r.body.toString());
    assert.ok(Number.isFinite(Date.parse(body.message.publishTime)));
    assert.deepEqual(body, {
      subscription: "w",
      deliveryAttempt: 1,
      message: {
        topic: "t",
        seq: "1",
        id: pub.results[0]?.id,
        data: "AAH/",
        attributes: { a: "1" },
        publishTime: body.message.publishTime,
        priority: 3,
        orderingKey: "",
      },
    });
  });

  it("push - a failing endpoint (500) is retried with backoff; stats show it over every protocol; it recovers", async (t) => {
    const { target, server, c } = await setup(t);
    let failing = true;
    target.on("/flaky", () => (failing ? 500 : 200));
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "flaky", "t", { endpoint: target.url("/flaky") });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("x") }] });
    const failed = await statsUntil(
      c,
      "flaky",
      (s) => (s.push?.consecutiveFailures ?? 0) >= 3 && s.push?.nextAttemptTime !== undefined,
    );
    assert.equal(failed.push?.lastStatus, 500);
    assert.equal(failed.push?.lastError, "HTTP 500");
    assert.ok(failed.push?.lastAttemptTime && failed.push.nextAttemptTime);
    assert.ok(timestampMs(failed.push.nextAttemptTime) > timestampMs(failed.push.lastAttemptTime));
    assert.equal(failed.backlog, 1n);
    const attempts = target.at("/flaky").map((r) => r.headers["switchyard-delivery-attempt"]);
    assert.deepEqual(attempts.slice(0, 3), ["1", "2", "3"]);
    for (const protocol of PROTOCOLS) {
      const other = createTestClients(server.baseUrl, protocol);
      try {
        const s = await stats(other, "flaky");
        assert.equal(s.push?.lastStatus, 500, protocol);
        assert.ok((s.push?.consecutiveFailures ?? 0) >= 3, protocol);
      } finally {
        other.close();
      }
    }
    failing = false;
    const ok = await statsUntil(c, "flaky", (s) => s.backlog === 0n);
    assert.equal(ok.push?.lastStatus, 200);
    assert.equal(ok.push?.consecutiveFailures, 0);
    assert.equal(ok.push?.nextAttemptTime, undefined);
    assert.equal(ok.push?.lastError, "");
    const n = target.at("/flaky").length;
    assert.equal(target.at("/flaky")[n - 1]?.headers["switchyard-delivery-attempt"], String(n));
  });

  it("push - max_delivery_attempts dead-letters a message the endpoint keeps failing, with the HTTP error", async (t) => {
    const { target, c } = await setup(t);
    target.on("/dl", () => 500);
    await c.admin.createTopic({ name: "t" });
    await c.admin.createTopic({ name: "dlq", queue: true });
    await c.admin.createSubscription({
      subscription: {
        name: "dl",
        topic: "t",
        maxDeliveryAttempts: 3,
        deadLetterTopic: "dlq",
        retry: { minBackoffMs: 20n, maxBackoffMs: 50n },
        push: { endpoint: target.url("/dl") },
      },
    });
    const pub = await c.publisher.publish({ topic: "t", messages: [{ data: utf8("doomed"), id: "d-1" }] });
    const dead = await c.subscriber.pull({ subscription: "dlq", maxMessages: 10, waitMs: 20_000 });
    assert.equal(dead.messages.length, 1);
    const m = dead.messages[0]?.message;
    assert.equal(new TextDecoder().decode(m?.data), "doomed");
    const a = m?.attributes ?? {};
    assert.equal(a["switchyard-dead-letter-source-subscription"], "dl");
    assert.equal(a["switchyard-dead-letter-source-seq"], String(pub.results[0]?.seq));
    assert.equal(a["switchyard-dead-letter-source-id"], "d-1");
    assert.equal(a["switchyard-dead-letter-attempts"], "3");
    assert.equal(a["switchyard-dead-letter-reason"], "nacked");
    assert.equal(a["switchyard-dead-letter-last-error"], "HTTP 500");
    assert.deepEqual(
      target.at("/dl").map((r) => r.headers["switchyard-delivery-attempt"]),
      ["1", "2", "3"],
    );
    const s = await stats(c, "dl");
    assert.equal(s.backlog, 0n);
    assert.equal(s.deadLettered, 1n);
    assert.equal(s.push?.consecutiveFailures, 3);
  });

  it("push - a request that outlives timeout_ms is aborted and retried; the endpoint recovers", async (t) => {
    const { target, c } = await setup(t);
    target.on("/slow", (_r, i) => (i === 0 ? "hold" : 200));
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "slow", "t", { endpoint: target.url("/slow"), timeoutMs: 1_000n });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("x") }] });
    const [first, second] = await target.waitFor("/slow", 2);
    assert.equal(first?.aborted(), true, "the broker gave up on the first request");
    assert.equal(second?.headers["switchyard-delivery-attempt"], "2");
    await statsUntil(c, "slow", (s) => s.backlog === 0n);
    const got = target.at("/slow");
    assert.equal(got.length, 2, "no duplicate once delivered");
  });

  it("push - a timeout and a refused connection are failures named in last_error and on the dead letter", async (t) => {
    const { target, c } = await setup(t);
    target.on("/hang", () => "hold");
    await c.admin.createTopic({ name: "t" });
    await c.admin.createTopic({ name: "dlq", queue: true });
    const closed = await startWebhookTarget();
    const refusedUrl = closed.url("/gone");
    await closed.close();
    for (const [name, endpoint] of [
      ["hang", target.url("/hang")],
      ["refused", refusedUrl],
    ] as const) {
      await c.admin.createSubscription({
        subscription: {
          name,
          topic: "t",
          maxDeliveryAttempts: 1,
          deadLetterTopic: "dlq",
          push: { endpoint, timeoutMs: 500n },
        },
      });
    }
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("x") }] });
    const got = new Map<string, string>();
    while (got.size < 2) {
      const res = await c.subscriber.pull({ subscription: "dlq", maxMessages: 10, waitMs: 20_000 });
      assert.ok(res.messages.length > 0, "dead letters arrive");
      for (const m of res.messages) {
        const a = m.message?.attributes ?? {};
        got.set(a["switchyard-dead-letter-source-subscription"] ?? "", a["switchyard-dead-letter-last-error"] ?? "");
      }
    }
    assert.equal(got.get("hang"), "timed out after 500 ms");
    assert.match(got.get("refused") ?? "", /^ECONNREFUSED/);
    const refused = await stats(c, "refused");
    assert.equal(refused.push?.lastStatus, 0);
    assert.match(refused.push?.lastError ?? "", /^ECONNREFUSED/);
  });

  it("push - any_response_is_success counts a 500 as delivered (the OPQ rule)", async (t) => {
    const { target, c } = await setup(t);
    target.on("/opq", () => 500);
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "opq", "t", { endpoint: target.url("/opq"), anyResponseIsSuccess: true });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("a") }, { data: utf8("b") }] });
    await target.waitFor("/opq", 2);
    const s = await statsUntil(c, "opq", (x) => x.backlog === 0n);
    assert.equal(s.push?.lastStatus, 500);
    assert.equal(s.push?.consecutiveFailures, 0);
    assert.equal(target.at("/opq").length, 2);
  });

  it("push - a redirect is an answer (a failure unless any_response_is_success), never followed", async (t) => {
    const { target, c } = await setup(t);
    target.on("/moved", () => 307);
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "moved", "t", { endpoint: target.url("/moved") });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("x") }] });
    const s = await statsUntil(c, "moved", (x) => (x.push?.consecutiveFailures ?? 0) >= 2);
    assert.equal(s.push?.lastStatus, 307);
    assert.deepEqual(new Set(target.received.map((r) => r.path)), new Set(["/moved"]));
  });

  it("push - max_in_flight bounds the requests open at the endpoint", async (t) => {
    const { target, c } = await setup(t);
    const pending: (() => void)[] = [];
    target.on("/par", () => "hold");
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "par", "t", { endpoint: target.url("/par"), maxInFlight: 3 });
    await c.publisher.publish({ topic: "t", messages: Array.from({ length: 10 }, (_, i) => ({ data: utf8(`${i}`) })) });
    for (let answered = 0; answered < 10; ) {
      await target.waitFor("/par", Math.min(10, answered + 3));
      assert.ok(target.concurrent("/par") <= 3);
      target.release(200, "/par");
      answered = target.at("/par").length;
    }
    await statsUntil(c, "par", (s) => s.backlog === 0n);
    assert.equal(target.maxConcurrent("/par"), 3);
    assert.deepEqual(
      target
        .at("/par")
        .map((r) => r.body.toString())
        .sort((a, b) => Number(a) - Number(b)),
      ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    );
    assert.equal(pending.length, 0);
  });

  it("push - ordered: one request per ordering key at a time, keys in parallel, a failure does not reorder its key", async (t) => {
    const { target, c } = await setup(t);
    let holding = true;
    let a1Failed = false;
    target.on("/ord", (r) => {
      if (r.body.toString() === "a1" && !a1Failed) {
        a1Failed = true;
        return 500;
      }
      return holding ? "hold" : 200;
    });
    await c.admin.createTopic({ name: "t" });
    await c.admin.createSubscription({
      subscription: { name: "ord", topic: "t", ordered: true, push: { endpoint: target.url("/ord"), maxInFlight: 4 } },
    });
    await c.publisher.publish({
      topic: "t",
      messages: ["a1", "a2", "b1", "b2", "c1"].map((s) => ({ data: utf8(s), orderingKey: s[0] })),
    });
    // a1 fails once; then b1, c1 and the retried a1 are held open together.
    await target.waitFor("/ord", 4);
    assert.equal(target.concurrent("/ord"), 3);
    assert.deepEqual(
      target
        .at("/ord")
        .map((r) => r.body.toString())
        .sort(),
      ["a1", "a1", "b1", "c1"],
    );
    holding = false;
    target.release(200, "/ord");
    await target.waitFor("/ord", 6);
    await statsUntil(c, "ord", (s) => s.backlog === 0n);
    const order = target.at("/ord").map((r) => r.body.toString());
    for (const key of ["a", "b", "c"]) {
      const seen = order.filter((b) => b.startsWith(key));
      assert.deepEqual(seen, key === "a" ? ["a1", "a1", "a2"] : key === "b" ? ["b1", "b2"] : ["c1"], order.join());
    }
    assert.equal(target.maxConcurrent("/ord"), 3);
  });

  it("push - a dead endpoint delays only its own subscription", async (t) => {
    const { target, c } = await setup(t);
    target.on("/dead", () => "hold");
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "dead", "t", { endpoint: target.url("/dead"), timeoutMs: 60_000n });
    await pushSub(c, "alive", "t", { endpoint: target.url("/alive") });
    await c.publisher.publish({ topic: "t", messages: Array.from({ length: 20 }, (_, i) => ({ data: utf8(`${i}`) })) });
    await target.waitFor("/alive", 20);
    await statsUntil(c, "alive", (s) => s.backlog === 0n);
    assert.equal(target.at("/dead").length, 1, "the dead one is still stuck on its first request");
    assert.equal((await stats(c, "dead")).backlog, 20n);
  });

  it("push - follows updates, pause and resume, and stops when the subscription is deleted", async (t) => {
    const { target, c } = await setup(t);
    await c.admin.createTopic({ name: "t" });
    await pushSub(c, "s", "t", { endpoint: target.url("/a") });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("1") }] });
    await target.waitFor("/a", 1);
    await c.admin.updateSubscription({
      subscription: { name: "s", topic: "t", push: { endpoint: target.url("/b") } },
      updateMask: { paths: ["push"] },
    });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("2") }] });
    await target.waitFor("/b", 1);
    await statsUntil(c, "s", (s) => s.backlog === 0n);
    await c.admin.pauseSubscription({ name: "s" });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("3") }] });
    // Pull-based proof that it is held back: the message stays in the backlog, unleased.
    assert.equal((await stats(c, "s")).inFlight, 0n);
    await c.admin.resumeSubscription({ name: "s" });
    const [, second] = await target.waitFor("/b", 2);
    assert.equal(second?.body.toString(), "3");
    await c.admin.deleteSubscription({ name: "s" });
    await c.admin.createSubscription({ subscription: { name: "s", topic: "t" } });
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("4") }] });
    const pulled = await c.subscriber.pull({ subscription: "s", maxMessages: 10, waitMs: 2_000 });
    assert.deepEqual(
      pulled.messages.map((m) => new TextDecoder().decode(m.message?.data)),
      ["4"],
      "a plain subscription of the same name is not pushed",
    );
    assert.equal(target.at("/b").length, 2);
    assert.equal((await stats(c, "s")).push, undefined);
  });

  it("push - bad configs are INVALID_ARGUMENT; hosts outside push-allowed-hosts are PUSH_ENDPOINT_NOT_ALLOWED", async (t) => {
    const target = await startWebhookTarget();
    t.after(() => target.close());
    const { c } = await setup(t, { pushAllowedHosts: [`127.0.0.1:${target.port}`, "*.hooks.example"] });
    await c.admin.createTopic({ name: "t" });
    const denied = await failure(pushSub(c, "x", "t", { endpoint: "http://localhost:1/x" }));
    assert.deepEqual(denied, {
      code: Code.PermissionDenied,
      reason: "PUSH_ENDPOINT_NOT_ALLOWED",
      field: "push.endpoint",
    });
    const otherPort = await failure(pushSub(c, "x", "t", { endpoint: "http://127.0.0.1:1/x" }));
    assert.equal(otherPort.reason, "PUSH_ENDPOINT_NOT_ALLOWED");
    for (const [push, field] of [
      [{ endpoint: "ftp://127.0.0.1/x" }, "push.endpoint"],
      [{ endpoint: "not a url" }, "push.endpoint"],
      [{ endpoint: target.url("/x"), headers: { "Switchyard-Seq": "1" } }, "push.headers"],
      [{ endpoint: target.url("/x"), headers: { "Content-Length": "1" } }, "push.headers"],
      [{ endpoint: target.url("/x"), headers: { "bad name": "1" } }, "push.headers"],
      [{ endpoint: target.url("/x"), headers: { "X-A": "line\r\nbreak" } }, "push.headers"],
      [{ endpoint: target.url("/x"), timeoutMs: 300_001n }, "push.timeout_ms"],
      [{ endpoint: target.url("/x"), maxInFlight: 1001 }, "push.max_in_flight"],
    ] as const) {
      const f = await failure(pushSub(c, "x", "t", push));
      assert.deepEqual(
        f,
        { code: Code.InvalidArgument, reason: "INVALID_ARGUMENT", field },
        JSON.stringify(push, bigints),
      );
    }
    await pushSub(c, "ok", "t", { endpoint: target.url("/ok") });
    const sub = await c.admin.getSubscription({ name: "ok" });
    assert.equal(sub.subscription?.push?.timeoutMs, 10_000n, "defaults filled in");
    assert.equal(sub.subscription?.push?.maxInFlight, 1);
    const update = await failure(
      c.admin.updateSubscription({
        subscription: { name: "ok", topic: "t", push: { endpoint: "https://evil.example/x" } },
        updateMask: { paths: ["push"] },
      }),
    );
    assert.equal(update.reason, "PUSH_ENDPOINT_NOT_ALLOWED");
    await c.publisher.publish({ topic: "t", messages: [{ data: utf8("still here") }] });
    const [r] = await target.waitFor("/ok", 1);
    assert.equal(r?.body.toString(), "still here");
  });
});
