/**
 * The Protobuf API end to end: the real server on port 0 with LMDB in a temp dir, generated
 * clients over Connect (HTTP/1.1), gRPC (h2c) and gRPC-web. Every protocol runs the same cases.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Runs `call`, expects it to fail, and returns the code and reason. */
async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined; err: ConnectError }> {
  const err = await call.then(
    () => assert.fail("expected the call to fail"),
    (e: unknown) => ConnectError.from(e),
  );
  return { code: err.code, reason: err.findDetails(ErrorDetailSchema)[0]?.reason, err };
}

for (const protocol of PROTOCOLS) {
  describe(`rpc api over ${protocol}`, () => {
    let s: TestServer;
    let c: TestClients;
    let other: TestClients;
    before(async () => {
      s = await startTestServer();
      c = createTestClients(s.baseUrl, protocol);
      other = createTestClients(s.baseUrl, protocol);
    });
    after(async () => {
      c.close();
      other.close();
      await s.close();
    });

    it(`rpc - ${protocol}: queue round trip with priority, attributes, dedup and stats`, async () => {
      const created = await c.admin.createTopic({ name: "jobs", queue: true });
      assert.equal(created.subscription?.name, "jobs");
      const pub = await c.publisher.publish({
        topic: "jobs",
        messages: [
          { data: text("low"), attributes: { kind: "a", ünï: "cödé" } },
          { data: text("high"), priority: 7, id: "job-1", orderingKey: "k" },
          { data: text("dup"), id: "job-1" },
        ],
      });
      assert.deepEqual(
        pub.results.map((r) => [r.seq, r.duplicate]),
        [
          [1n, false],
          [2n, false],
          [2n, true],
        ],
      );
      assert.equal(pub.results[1]?.id, "job-1");
      const peeked = await c.subscriber.peek({ subscription: "jobs", maxMessages: 10 });
      assert.deepEqual(
        peeked.messages.map((m) => m.message?.seq),
        [2n, 1n],
      );
      const pulled = await c.subscriber.pull({ subscription: "jobs", maxMessages: 10 });
      assert.deepEqual(
        pulled.messages.map((m) => str(m.message?.data)),
        ["high", "low"],
      );
      const [high, low] = pulled.messages;
      assert.equal(high?.message?.priority, 7);
      assert.equal(high?.message?.orderingKey, "k");
      assert.deepEqual(low?.message?.attributes, { kind: "a", ünï: "cödé" });
      assert.ok((low?.message?.publishTime?.seconds ?? 0n) > 0n);
      assert.equal(high?.deliveryAttempt, 1);
      let stats = await c.admin.getStats({ topics: ["jobs"] });
      assert.equal(stats.topics[0]?.messages, 2n);
      assert.equal(stats.topics[0]?.lastSeq, 2n);
      assert.equal(stats.subscriptions[0]?.backlog, 2n);
      assert.equal(stats.subscriptions[0]?.inFlight, 2n);
      await c.subscriber.ack({ subscription: "jobs", ackIds: [high?.ackId ?? "", low?.ackId ?? ""] });
      stats = await c.admin.getStats({ topics: ["jobs"] });
      assert.equal(stats.topics[0]?.messages, 0n);
      assert.equal(stats.subscriptions[0]?.backlog, 0n);
      const again = await failure(c.subscriber.ack({ subscription: "jobs", ackIds: [high?.ackId ?? ""] }));
      assert.equal(again.code, Code.FailedPrecondition);
      assert.equal(again.reason, "DELIVERY_UNKNOWN");
    });

    it(`rpc - ${protocol}: a waiting long-poll Pull is woken by a publish from another client`, async () => {
      await c.admin.createTopic({ name: "wake", queue: true });
      const started = Date.now();
      const waiting = c.subscriber.pull({ subscription: "wake", maxMessages: 5, waitMs: 20_000 });
      // The pull is registered as a consumer before the publish goes out.
      for (;;) {
        const st = await other.admin.getStats({ topics: ["wake"] });
        if (st.subscriptions[0]?.consumers === 1) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await other.publisher.publish({ topic: "wake", messages: [{ data: text("now") }] });
      const got = await waiting;
      assert.equal(str(got.messages[0]?.message?.data), "now");
      assert.ok(Date.now() - started < 10_000, "woken by the publish, not by the wait timing out");
      const empty = await c.subscriber.pull({ subscription: "wake", waitMs: 50 });
      assert.equal(empty.messages.length, 0, "an empty long-poll returns empty at wait_ms");
    });

    it(`rpc - ${protocol}: nack, modify deadline and lease expiry redeliver with the next attempt`, async () => {
      await c.admin.createTopic({ name: "retry", queue: true });
      await c.publisher.publish({ topic: "retry", messages: [{ data: text("x") }] });
      const first = await c.subscriber.pull({ subscription: "retry", ackDeadlineMs: 60_000n });
      await c.subscriber.nack({ subscription: "retry", ackIds: [first.messages[0]?.ackId ?? ""] });
      const second = await c.subscriber.pull({ subscription: "retry", ackDeadlineMs: 200n, waitMs: 1000 });
      assert.equal(second.messages[0]?.deliveryAttempt, 2);
      await c.subscriber.modifyAckDeadline({
        subscription: "retry",
        ackIds: [second.messages[0]?.ackId ?? ""],
        ackDeadlineMs: 60_000n,
      });
      const none = await c.subscriber.pull({ subscription: "retry", waitMs: 400 });
      assert.equal(none.messages.length, 0, "the extended lease holds past the first deadline");
      await c.subscriber.modifyAckDeadline({
        subscription: "retry",
        ackIds: [second.messages[0]?.ackId ?? ""],
        ackDeadlineMs: 100n,
      });
      const third = await c.subscriber.pull({ subscription: "retry", waitMs: 5000 });
      assert.equal(third.messages[0]?.deliveryAttempt, 3, "redelivered once the lease expired");
      const stale = await failure(
        c.subscriber.ack({ subscription: "retry", ackIds: [second.messages[0]?.ackId ?? ""] }),
      );
      assert.equal(stale.reason, "LEASE_EXPIRED");
      await c.subscriber.nack({ subscription: "retry", ackIds: [third.messages[0]?.ackId ?? ""], delayMs: 1500n });
      const early = await c.subscriber.pull({ subscription: "retry", waitMs: 0 });
      assert.equal(early.messages.length, 0, "a nack with delay is not available at once");
      const later = await c.subscriber.pull({ subscription: "retry", waitMs: 5000 });
      assert.equal(later.messages[0]?.deliveryAttempt, 4);
      await c.subscriber.ack({ subscription: "retry", messageIds: [later.messages[0]?.message?.id ?? ""] });
    });

    it(`rpc - ${protocol}: fan-out, start positions, pause and the subscription admin RPCs`, async () => {
      await c.admin.createTopic({ name: "events" });
      await c.admin.createSubscription({ subscription: { name: "events-a", topic: "events" } });
      await c.publisher.publish({ topic: "events", messages: [{ data: text("1") }, { data: text("2") }] });
      await c.admin.createSubscription({
        subscription: { name: "events-b", topic: "events", start: { at: { case: "earliest", value: true } } },
      });
      await c.admin.createSubscription({ subscription: { name: "events-c", topic: "events" } });
      for (const [sub, n] of [
        ["events-a", 2],
        ["events-b", 2],
        ["events-c", 0],
      ] as const) {
        const got = await c.subscriber.pull({ subscription: sub, maxMessages: 10 });
        assert.equal(got.messages.length, n, sub);
      }
      const paused = await c.admin.pauseSubscription({ name: "events-c" });
      assert.equal(paused.subscription?.paused, true);
      await c.publisher.publish({ topic: "events", messages: [{ data: text("3") }] });
      assert.equal((await c.subscriber.pull({ subscription: "events-c", waitMs: 50 })).messages.length, 0);
      await c.admin.resumeSubscription({ name: "events-c" });
      assert.equal((await c.subscriber.pull({ subscription: "events-c" })).messages.length, 1);
      const updated = await c.admin.updateSubscription({
        subscription: { name: "events-a", ackDeadlineMs: 5000n },
        updateMask: { paths: ["ack_deadline_ms"] },
      });
      assert.equal(updated.subscription?.ackDeadlineMs, 5000n);
      const page1 = await c.admin.listSubscriptions({ topic: "events", pageSize: 2 });
      const page2 = await c.admin.listSubscriptions({ topic: "events", pageSize: 2, pageToken: page1.nextPageToken });
      assert.deepEqual(
        [...page1.subscriptions, ...page2.subscriptions].map((x) => x.name),
        ["events-a", "events-b", "events-c"],
      );
      assert.equal(page2.nextPageToken, "");
      await c.admin.deleteSubscription({ name: "events-b" });
      assert.equal((await failure(c.admin.getSubscription({ name: "events-b" }))).reason, "SUBSCRIPTION_NOT_FOUND");
      const purged = await c.admin.purgeTopic({ name: "events" });
      assert.ok(purged.purged >= 1n);
      await c.admin.deleteTopic({ name: "events" });
      assert.equal((await failure(c.admin.getSubscription({ name: "events-a" }))).reason, "SUBSCRIPTION_NOT_FOUND");
    });

    it(`rpc - ${protocol}: bad input gets a clear code and reason and changes nothing`, async () => {
      await c.admin.createTopic({ name: "safe", queue: true });
      await c.publisher.publish({ topic: "safe", messages: [{ data: text("keep"), id: "k1" }] });
      const cases: Array<[() => Promise<unknown>, Code, string]> = [
        [() => c.admin.createTopic({ name: "safe" }), Code.AlreadyExists, "ALREADY_EXISTS"],
        [() => c.admin.createTopic({ name: "" }), Code.InvalidArgument, "INVALID_NAME"],
        [() => c.admin.createTopic({ name: "x".repeat(256) }), Code.InvalidArgument, "INVALID_NAME"],
        [() => c.admin.createTopic({ name: "bad\nname" }), Code.InvalidArgument, "INVALID_NAME"],
        [
          () => c.publisher.publish({ topic: "nope", messages: [{ data: text("x") }] }),
          Code.NotFound,
          "TOPIC_NOT_FOUND",
        ],
        [() => c.publisher.publish({ topic: "safe", messages: [] }), Code.InvalidArgument, "INVALID_ARGUMENT"],
        [
          () => c.publisher.publish({ topic: "safe", messages: [{ data: new Uint8Array(1024 * 1024 + 1) }] }),
          Code.ResourceExhausted,
          "PAYLOAD_TOO_LARGE",
        ],
        [
          () => c.publisher.publish({ topic: "safe", messages: [{ data: text("x"), priority: 10 }] }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [() => c.subscriber.pull({ subscription: "nope" }), Code.NotFound, "SUBSCRIPTION_NOT_FOUND"],
        [
          () => c.subscriber.pull({ subscription: "safe", maxMessages: 100_000 }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.subscriber.ack({ subscription: "safe", ackIds: ["not-an-ack-id"] }),
          Code.InvalidArgument,
          "INVALID_ACK_ID",
        ],
        [() => c.subscriber.ack({ subscription: "safe", ackIds: [] }), Code.InvalidArgument, "INVALID_ARGUMENT"],
        [
          () => c.subscriber.ack({ subscription: "safe", messageIds: ["never-published"] }),
          Code.FailedPrecondition,
          "DELIVERY_UNKNOWN",
        ],
        [
          () => c.admin.createSubscription({ subscription: { name: "s2", topic: "safe", deadLetterTopic: "dlq" } }),
          Code.NotFound,
          "TOPIC_NOT_FOUND",
        ],
        [
          () => c.admin.updateTopic({ topic: { name: "safe" }, updateMask: { paths: ["name"] } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
      ];
      for (const [call, code, reason] of cases) {
        const f = await failure(call());
        assert.equal(f.code, code, `${f.err.message}`);
        assert.equal(f.reason, reason, `${f.err.message}`);
        assert.ok(f.err.rawMessage.length > 0);
      }
      // Nothing stored was lost or changed, and the server still serves.
      const got = await c.subscriber.pull({ subscription: "safe", maxMessages: 10 });
      assert.deepEqual(
        got.messages.map((m) => [m.message?.id, str(m.message?.data)]),
        [["k1", "keep"]],
      );
    });

    it(`rpc - ${protocol}: Subscribe and Seek errors carry reasons`, async () => {
      const drain = (stream: AsyncIterable<unknown>) =>
        failure(
          (async () => {
            for await (const _ of stream) assert.fail("no messages expected");
          })(),
        );
      const missing = await drain(c.subscriber.subscribe({ subscription: "no-such-subscription" }));
      assert.equal(missing.code, Code.NotFound);
      assert.equal(missing.reason, "SUBSCRIPTION_NOT_FOUND");
      const tooBig = await drain(c.subscriber.subscribe({ subscription: "safe", maxOutstandingMessages: 1_000_000 }));
      assert.equal(tooBig.code, Code.InvalidArgument);
      const noTarget = await failure(c.replay.seek({ subscription: "safe" }));
      assert.equal(noTarget.code, Code.InvalidArgument);
      assert.equal(noTarget.reason, "INVALID_ARGUMENT");
    });
  });
}

describe("rpc api over raw HTTP", () => {
  it("rpc - malformed JSON to a Connect endpoint gets 400 invalid_argument, and the server keeps serving", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const res = await fetch(`${s.baseUrl}/switchyard.v1.PublisherService/Publish`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"topic": "x", "messages": [{"data": 12',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { code: string };
    assert.equal(body.code, "invalid_argument");
    const ok = await fetch(`${s.baseUrl}/switchyard.v1.AdminService/ListTopics`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), {});
  });
});
