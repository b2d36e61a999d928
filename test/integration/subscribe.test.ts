/**
 * Subscribe streams end to end over Connect (HTTP/1.1), gRPC (h2c) and gRPC-web: wake-up by
 * publish, flow-control windows, release on cancel, competing streams and shutdown.
 * Every stream is cancelled through an AbortController in `finally` (breaking
 * out of for-await does not cancel a connect stream).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ReceivedMessage } from "../../gen/switchyard/v1/types_pb.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once `predicate` holds; bounded. */
async function until(predicate: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A stream read in the background; `abort()` cancels it. */
function openStream(c: TestClients, subscription: string, window: { messages?: number; bytes?: bigint } = {}) {
  const controller = new AbortController();
  const got: ReceivedMessage[] = [];
  const stream = {
    got,
    error: undefined as ConnectError | undefined,
    abort: () => controller.abort(),
    done: Promise.resolve(),
  };
  stream.done = (async () => {
    const res = c.subscriber.subscribe(
      { subscription, maxOutstandingMessages: window.messages ?? 0, maxOutstandingBytes: window.bytes ?? 0n },
      { signal: controller.signal },
    );
    for await (const batch of res) got.push(...batch.messages);
  })().catch((e: unknown) => {
    stream.error = ConnectError.from(e);
  });
  return stream;
}

async function consumers(c: TestClients, subscription: string): Promise<number> {
  const stats = await c.admin.getStats({});
  return stats.subscriptions.find((s) => s.name === subscription)?.consumers ?? 0;
}

for (const protocol of PROTOCOLS) {
  describe(`subscribe over ${protocol}`, () => {
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

    it(`subscribe - ${protocol}: a stream receives a publish made after it opened`, async () => {
      await c.admin.createTopic({ name: "live", queue: true });
      const stream = openStream(c, "live");
      try {
        await until(async () => (await consumers(other, "live")) === 1, "the stream to open");
        await other.publisher.publish({ topic: "live", messages: [{ data: text("hello"), attributes: { k: "v" } }] });
        await until(() => stream.got.length === 1, "the delivery");
        const [m] = stream.got;
        assert.equal(str(m?.message?.data), "hello");
        assert.deepEqual(m?.message?.attributes, { k: "v" });
        assert.equal(m?.deliveryAttempt, 1);
        await other.subscriber.ack({ subscription: "live", ackIds: [m?.ackId ?? ""] });
      } finally {
        stream.abort();
        await stream.done;
      }
      await until(async () => (await consumers(other, "live")) === 0, "the stream to close");
    });

    it(`subscribe - ${protocol}: the window holds until an ack frees room`, async () => {
      await c.admin.createTopic({ name: "window", queue: true });
      await c.publisher.publish({
        topic: "window",
        messages: ["a", "b", "c", "d", "e"].map((d) => ({ data: text(d) })),
      });
      const stream = openStream(c, "window", { messages: 2 });
      try {
        await until(() => stream.got.length === 2, "two deliveries");
        await sleep(150);
        assert.equal(stream.got.length, 2, "no more than the window");
        await other.subscriber.ack({ subscription: "window", ackIds: [stream.got[0]?.ackId ?? ""] });
        await until(() => stream.got.length === 3, "the third after an ack");
        assert.deepEqual(
          stream.got.map((m) => str(m.message?.data)),
          ["a", "b", "c"],
        );
      } finally {
        stream.abort();
        await stream.done;
      }
    });

    it(`subscribe - ${protocol}: a stalled reader holds no more than its window`, async () => {
      await c.admin.createTopic({ name: "stalled", queue: true });
      await c.publisher.publish({
        topic: "stalled",
        messages: Array.from({ length: 100 }, (_, i) => ({ data: text(String(i)) })),
      });
      const controller = new AbortController();
      let first = 0;
      let resume = () => {};
      const reading = (async () => {
        const res = c.subscriber.subscribe(
          { subscription: "stalled", maxOutstandingMessages: 10 },
          { signal: controller.signal },
        );
        for await (const batch of res) {
          // The window may come in several responses: after the abort, the ones already here end it.
          if (controller.signal.aborted) break;
          first += batch.messages.length;
          await new Promise<void>((r) => {
            resume = r;
          }); // stalls after its first batch
        }
      })().catch(() => {});
      try {
        await until(() => first > 0, "the first batch");
        await sleep(150);
        const stats = await other.admin.getStats({ topics: ["stalled"] });
        assert.equal(stats.subscriptions[0]?.inFlight, 10n, "only the window is leased");
        assert.equal(stats.subscriptions[0]?.backlog, 100n);
      } finally {
        controller.abort();
        resume();
        await reading;
      }
      await until(async () => {
        const stats = await other.admin.getStats({ topics: ["stalled"] });
        return stats.subscriptions[0]?.inFlight === 0n;
      }, "the window to be released");
    });

    it(`subscribe - ${protocol}: on cancel, another consumer pulls the held messages at once with attempt 2`, async () => {
      await c.admin.createTopic({ name: "cancel", queue: true, queueSubscription: { ackDeadlineMs: 600_000n } });
      await c.publisher.publish({ topic: "cancel", messages: [{ data: text("x") }, { data: text("y") }] });
      const stream = openStream(c, "cancel");
      try {
        await until(() => stream.got.length === 2, "two deliveries");
      } finally {
        stream.abort();
        await stream.done;
      }
      const started = Date.now();
      const got = await other.subscriber.pull({ subscription: "cancel", maxMessages: 10, waitMs: 5_000 });
      assert.deepEqual(
        got.messages.map((m) => [str(m.message?.data), m.deliveryAttempt]),
        [
          ["x", 2],
          ["y", 2],
        ],
      );
      assert.ok(Date.now() - started < 4_000, "released by the cancel, not by a lease expiring");
      await other.subscriber.ack({ subscription: "cancel", ackIds: got.messages.map((m) => m.ackId) });
    });

    it(`subscribe - ${protocol}: two streams split 200 messages with no duplicates and none lost`, async () => {
      await c.admin.createTopic({ name: "split", queue: true });
      const a = openStream(c, "split", { messages: 20 });
      const b = openStream(other, "split", { messages: 20 });
      const seen: string[] = [];
      const ackers = [
        [a, c],
        [b, other],
      ] as const;
      try {
        await until(async () => (await consumers(c, "split")) === 2, "both streams to open");
        const n = 200;
        for (let i = 0; i < n; i += 50) {
          const messages = Array.from({ length: 50 }, (_, j) => ({ data: text(String(i + j)) }));
          await c.publisher.publish({ topic: "split", messages });
        }
        await until(async () => {
          for (const [stream, client] of ackers) {
            const batch = stream.got.splice(0);
            if (batch.length === 0) continue;
            seen.push(...batch.map((m) => str(m.message?.data)));
            await client.subscriber.ack({ subscription: "split", ackIds: batch.map((m) => m.ackId) });
          }
          return seen.length >= n;
        }, "every message");
        await sleep(100);
        assert.equal(a.got.length + b.got.length, 0, "nothing delivered twice after all were acked");
        assert.equal(seen.length, n);
        assert.equal(new Set(seen).size, n, "no duplicates");
        const stats = await c.admin.getStats({ topics: ["split"] });
        assert.equal(stats.subscriptions[0]?.backlog, 0n);
      } finally {
        a.abort();
        b.abort();
        await Promise.all([a.done, b.done]);
      }
    });
  });

  it(`subscribe - ${protocol}: during server close an open stream ends UNAVAILABLE`, async (t) => {
    const s = await startTestServer({ config: { shutdownGraceMs: 10_000 } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, protocol);
    t.after(() => c.close());
    await c.admin.createTopic({ name: "q", queue: true });
    const stream = openStream(c, "q");
    try {
      await until(async () => (await consumers(c, "q")) === 1, "the stream to open");
      const started = Date.now();
      await s.close();
      await stream.done;
      assert.equal(stream.error?.code, Code.Unavailable, String(stream.error));
      assert.ok(Date.now() - started < 5_000, "ended on the shutdown signal, not the grace period");
    } finally {
      stream.abort();
      await stream.done;
    }
  });
}
