/**
 * Retries, dead letters and Redrive end to end: the real server on port 0 with LMDB in a temp
 * dir, generated clients over Connect (HTTP/1.1), gRPC (h2c) and gRPC-web.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/switchyard/v1/errors_pb.js";
import type { ReceivedMessage } from "../../gen/switchyard/v1/types_pb.js";
import { BrokerError } from "../../src/errors/index.js";
import { DEAD_LETTER_ATTRIBUTES as A, openLmdbStore, type Store } from "../../src/store/index.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

async function failure(call: Promise<unknown>): Promise<{ code: Code; reason: string | undefined; err: ConnectError }> {
  const err = await call.then(
    () => assert.fail("expected the call to fail"),
    (e: unknown) => ConnectError.from(e),
  );
  return { code: err.code, reason: err.findDetails(ErrorDetailSchema)[0]?.reason, err };
}

/** A topic `name`, its dead-letter queue `name-dlq`, and subscriptions `name-work` (DLQ) and `name-audit`. */
async function deadLetterTopology(c: TestClients, name: string, work: { attempts: number; retryMs?: number }) {
  await c.admin.createTopic({ name });
  await c.admin.createTopic({ name: `${name}-dlq`, queue: true });
  const retry = work.retryMs
    ? { minBackoffMs: BigInt(work.retryMs), maxBackoffMs: BigInt(work.retryMs * 4) }
    : undefined;
  await c.admin.createSubscription({
    subscription: {
      name: `${name}-work`,
      topic: name,
      maxDeliveryAttempts: work.attempts,
      deadLetterTopic: `${name}-dlq`,
      retry,
    },
  });
  await c.admin.createSubscription({ subscription: { name: `${name}-audit`, topic: name } });
}

async function pull(c: TestClients, subscription: string, waitMs = 0, ackDeadlineMs = 0n): Promise<ReceivedMessage[]> {
  return (await c.subscriber.pull({ subscription, maxMessages: 100, waitMs, ackDeadlineMs })).messages;
}

async function subStats(c: TestClients, name: string) {
  const s = (await c.admin.getStats({})).subscriptions.find((x) => x.name === name);
  assert.ok(s, `stats of ${name}`);
  return s;
}

/** Pulls and acks everything on a subscription; returns the message ids in order received. */
async function drain(c: TestClients, subscription: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const got = await pull(c, subscription);
    if (got.length === 0) return ids;
    ids.push(...got.map((m) => m.message?.id ?? ""));
    await c.subscriber.ack({ subscription, ackIds: got.map((m) => m.ackId) });
  }
}

/** Publishes `n` messages d1..dn (ids d1..), nacks each on `work` until all are dead letters. */
async function deadLetterAll(c: TestClients, topic: string, n: number, attempts: number): Promise<void> {
  await c.publisher.publish({
    topic,
    messages: Array.from({ length: n }, (_, i) => ({
      id: `d${i + 1}`,
      data: text(`data-${i + 1}`),
      attributes: { kind: i % 2 === 0 ? "odd" : "even" },
    })),
  });
  for (let i = 0; i < attempts; i++) {
    const got = await pull(c, `${topic}-work`);
    assert.equal(got.length, n);
    await c.subscriber.nack({ subscription: `${topic}-work`, ackIds: got.map((m) => m.ackId), error: `fail ${i + 1}` });
  }
}

for (const protocol of PROTOCOLS) {
  describe(`dead letters over ${protocol}`, () => {
    let s: TestServer;
    let c: TestClients;
    before(async () => {
      s = await startTestServer();
      c = createTestClients(s.baseUrl, protocol);
    });
    after(async () => {
      c.close();
      await s.close();
    });

    it(`dead letter - ${protocol}: after max attempts of nacks, with its origin; stats count it`, async () => {
      await deadLetterTopology(c, "orders", { attempts: 3 });
      await c.publisher.publish({
        topic: "orders",
        messages: [{ id: "order-7", data: text("charge"), attributes: { region: "eu" }, priority: 2 }],
      });
      for (let attempt = 1; attempt <= 3; attempt++) {
        const [m] = await pull(c, "orders-work");
        assert.equal(m?.deliveryAttempt, attempt);
        await c.subscriber.nack({
          subscription: "orders-work",
          ackIds: [m?.ackId ?? ""],
          error: `declined ${attempt}`,
        });
      }
      assert.deepEqual(await pull(c, "orders-work"), []);
      const [dl] = await pull(c, "orders-dlq");
      assert.equal(str(dl?.message?.data), "charge");
      assert.equal(dl?.message?.priority, 2);
      assert.deepEqual(dl?.message?.attributes, {
        region: "eu",
        [A.sourceTopic]: "orders",
        [A.sourceSubscription]: "orders-work",
        [A.sourceSeq]: "1",
        [A.sourceId]: "order-7",
        [A.attempts]: "3",
        [A.reason]: "nacked",
        [A.lastError]: "declined 3",
      });
      const work = await subStats(c, "orders-work");
      assert.equal(work.deadLettered, 1n);
      assert.equal(work.backlog, 0n);
      assert.equal((await subStats(c, "orders-audit")).backlog, 1n, "other subscriptions are not affected");
    });

    it(`dead letter - ${protocol}: after max attempts of expired leases`, async () => {
      await deadLetterTopology(c, "leases", { attempts: 2 });
      await c.publisher.publish({ topic: "leases", messages: [{ id: "slow", data: text("x") }] });
      assert.equal((await pull(c, "leases-work", 0, 100n)).length, 1);
      // The long-poll wakes when the 100 ms lease ends and hands the message out again.
      const [second] = await pull(c, "leases-work", 10_000, 100n);
      assert.equal(second?.deliveryAttempt, 2);
      const [dl] = await pull(c, "leases-dlq", 10_000);
      assert.equal(dl?.message?.attributes[A.reason], "lease_expired", "the dead letter arrives by itself");
      assert.equal(dl?.message?.attributes[A.sourceId], "slow");
      assert.equal((await subStats(c, "leases-work")).deadLettered, 1n);
      assert.deepEqual(await pull(c, "leases-work"), []);
    });

    it(`retry - ${protocol}: a nack without delay waits the retry backoff`, async () => {
      await deadLetterTopology(c, "backoff", { attempts: 5, retryMs: 60_000 });
      await c.publisher.publish({ topic: "backoff", messages: [{ data: text("x") }] });
      const [m] = await pull(c, "backoff-work");
      await c.subscriber.nack({ subscription: "backoff-work", ackIds: [m?.ackId ?? ""] });
      assert.deepEqual(await pull(c, "backoff-work"), []);
      const stats = await subStats(c, "backoff-work");
      assert.deepEqual([stats.delayed, stats.inFlight, stats.backlog], [1n, 0n, 1n]);
      const sub = (await c.admin.getSubscription({ name: "backoff-work" })).subscription;
      assert.deepEqual([sub?.retry?.minBackoffMs, sub?.retry?.maxBackoffMs], [60_000n, 240_000n]);
    });

    it(`redrive - ${protocol}: all, up to N, or matching a filter; back on the source subscription only`, async () => {
      await deadLetterTopology(c, "redrive", { attempts: 1 });
      await deadLetterAll(c, "redrive", 6, 1);
      assert.equal((await subStats(c, "redrive-dlq")).backlog, 6n);
      assert.equal((await subStats(c, "redrive-work")).deadLettered, 6n);

      const two = await c.admin.redrive({ subscription: "redrive-work", maxMessages: 2n });
      assert.equal(two.redriven, 2n);
      assert.deepEqual(await drain(c, "redrive-work"), ["d1", "d2"]);

      const even = await c.admin.redrive({ subscription: "redrive-work", filter: { kind: "even" } });
      assert.equal(even.redriven, 2n);
      const back = await pull(c, "redrive-work");
      assert.deepEqual(
        back.map((m) => [m.message?.id, str(m.message?.data), m.message?.attributes, m.deliveryAttempt]),
        [
          ["d4", "data-4", { kind: "even" }, 1],
          ["d6", "data-6", { kind: "even" }, 1],
        ],
      );
      await c.subscriber.ack({ subscription: "redrive-work", ackIds: back.map((m) => m.ackId) });

      const rest = await c.admin.redrive({ subscription: "redrive-work" });
      assert.equal(rest.redriven, 2n);
      assert.deepEqual(await drain(c, "redrive-work"), ["d3", "d5"]);
      assert.equal((await subStats(c, "redrive-dlq")).backlog, 0n);
      assert.equal((await c.admin.getStats({ topics: ["redrive-dlq"] })).topics[0]?.messages, 0n);
      assert.equal((await subStats(c, "redrive-audit")).backlog, 6n, "the other subscription got no second copy");
      assert.equal((await c.admin.redrive({ subscription: "redrive-work" })).redriven, 0n);
    });

    it(`redrive - ${protocol}: bad input fails with a stable reason and changes nothing`, async () => {
      await deadLetterTopology(c, "bad", { attempts: 1 });
      await deadLetterAll(c, "bad", 2, 1);
      const cases: [() => Promise<unknown>, Code, string][] = [
        [() => c.admin.redrive({ subscription: "bad-audit" }), Code.FailedPrecondition, "NO_DEAD_LETTER_TOPIC"],
        [() => c.admin.redrive({ subscription: "nope" }), Code.NotFound, "SUBSCRIPTION_NOT_FOUND"],
        [
          () => c.admin.redrive({ subscription: "bad-work", filter: { "": "x" } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.admin.createSubscription({ subscription: { name: "x", topic: "bad", deadLetterTopic: "missing" } }),
          Code.NotFound,
          "TOPIC_NOT_FOUND",
        ],
        [
          () => c.admin.createSubscription({ subscription: { name: "x", topic: "bad", deadLetterTopic: "bad" } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () =>
            c.admin.createSubscription({
              subscription: { name: "x", topic: "bad", retry: { minBackoffMs: 500n, maxBackoffMs: 100n } },
            }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.admin.createSubscription({ subscription: { name: "x", topic: "bad", maxDeliveryAttempts: 1001 } }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
        [
          () => c.subscriber.nack({ subscription: "bad-audit", messageIds: ["d1"], error: "e".repeat(1025) }),
          Code.InvalidArgument,
          "INVALID_ARGUMENT",
        ],
      ];
      for (const [call, code, reason] of cases) {
        const f = await failure(call());
        assert.deepEqual([f.code, f.reason], [code, reason], f.err.message);
      }
      assert.equal((await subStats(c, "bad-dlq")).backlog, 2n);
      assert.equal((await subStats(c, "bad-audit")).backlog, 2n);
      assert.equal((await failure(c.admin.getSubscription({ name: "x" }))).reason, "SUBSCRIPTION_NOT_FOUND");
    });

    it(`redrive - ${protocol}: to a source subscription that no longer exists fails; nothing lost or duplicated`, async () => {
      await deadLetterTopology(c, "gone", { attempts: 1 });
      await deadLetterAll(c, "gone", 3, 1);
      await c.admin.deleteSubscription({ name: "gone-work" });
      const f = await failure(c.admin.redrive({ subscription: "gone-work" }));
      assert.deepEqual([f.code, f.reason], [Code.NotFound, "SUBSCRIPTION_NOT_FOUND"]);
      const dlq = await pull(c, "gone-dlq");
      assert.deepEqual(
        dlq.map((m) => m.message?.attributes[A.sourceId]),
        ["d1", "d2", "d3"],
      );
      assert.equal((await subStats(c, "gone-audit")).backlog, 3n);
    });
  });

  describe(`redrive with a failing store step over ${protocol}`, () => {
    let s: TestServer;
    let c: TestClients;
    let steps = 0;
    before(async () => {
      // The real LMDB store; one Redrive step can be made to fail as a commit failure would.
      const openStore = async (o: Parameters<typeof openLmdbStore>[0]): Promise<Store> => {
        const store = await openLmdbStore(o);
        return new Proxy(store, {
          get(target, prop, receiver) {
            if (prop !== "redrive") return Reflect.get(target, prop, receiver);
            return (...args: Parameters<Store["redrive"]>) => {
              // The second step of all fails, as a failed commit would (nothing written).
              if (++steps === 2) return Promise.reject(new BrokerError("STORE_UNAVAILABLE", "injected commit failure"));
              return target.redrive(...args);
            };
          },
        });
      };
      s = await startTestServer({ openStore });
      c = createTestClients(s.baseUrl, protocol);
    });
    after(async () => {
      c.close();
      await s.close();
    });

    it(`redrive - ${protocol}: a failure between steps loses and duplicates nothing`, async () => {
      await deadLetterTopology(c, "atomic", { attempts: 1 });
      const n = 1200;
      for (let i = 0; i < n; i += 600) {
        await c.publisher.publish({
          topic: "atomic",
          messages: Array.from({ length: 600 }, (_, k) => ({ id: `a${i + k}`, data: text(String(i + k)) })),
        });
      }
      for (;;) {
        const got = (await c.subscriber.pull({ subscription: "atomic-work", maxMessages: 1000 })).messages;
        if (got.length === 0) break;
        await c.subscriber.nack({ subscription: "atomic-work", ackIds: got.map((m) => m.ackId) });
      }
      assert.equal((await subStats(c, "atomic-dlq")).backlog, BigInt(n));
      const f = await failure(c.admin.redrive({ subscription: "atomic-work" }));
      assert.deepEqual([f.code, f.reason], [Code.Unavailable, "STORE_UNAVAILABLE"]);
      const moved = Number(f.err.findDetails(ErrorDetailSchema)[0]?.metadata.redriven ?? "0");
      assert.ok(moved > 0 && moved < n, `moved ${moved}`);
      assert.equal((await subStats(c, "atomic-work")).backlog, BigInt(moved));
      assert.equal((await subStats(c, "atomic-dlq")).backlog, BigInt(n - moved));
      assert.equal((await c.admin.redrive({ subscription: "atomic-work" })).redriven, BigInt(n - moved));
      const ids = await drain(c, "atomic-work");
      assert.equal(ids.length, n);
      assert.equal(new Set(ids).size, n, "every message exactly once");
      assert.equal((await subStats(c, "atomic-dlq")).backlog, 0n);
    });
  });
}
