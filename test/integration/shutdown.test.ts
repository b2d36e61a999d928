/**
 * Graceful shutdown (architecture.md 2.5): waiting calls and streams end UNAVAILABLE at once,
 * new requests are refused, nothing leaks, and the store is closed last.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it, type TestContext } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { openLmdbStore } from "../../src/store/index.js";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const GRACE_MS = 10_000;

function codeOf(e: unknown): Code {
  return ConnectError.from(e).code;
}

/** Resolves once `predicate` holds, checking after each turn of the event loop; bounded. */
async function until(predicate: () => Promise<boolean> | boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves when the server's shutdown signal aborts. */
function shutdownBegun(s: TestServer): Promise<void> {
  const signal = s.server.shutdownSignal;
  return signal.aborted ? Promise.resolve() : new Promise((r) => signal.addEventListener("abort", () => r()));
}

/** Open TCP handles of this process (sockets and servers). */
function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap" || r === "TCPServerWrap").length;
}

/**
 * Holds one HTTP/1.1 request in flight (its body never completes), so close() stays in its
 * grace period until the returned socket is destroyed.
 */
async function holdRequest(t: TestContext, s: TestServer): Promise<net.Socket> {
  const [host, port] = (s.addresses.rpc ?? "").split(":");
  const socket = net.connect(Number(port), host);
  t.after(() => socket.destroy());
  socket.on("error", () => {});
  const taken = new Promise<void>((resolve) => socket.once("data", () => resolve()));
  socket.write(
    "POST /switchyard.v1.AdminService/ListTopics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n" +
      "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n",
  );
  await taken; // "100 Continue": the server has taken up the request
  return socket;
}

async function serverWithQueue(t: TestContext, protocol: (typeof PROTOCOLS)[number]) {
  const s = await startTestServer({ config: { shutdownGraceMs: GRACE_MS } });
  t.after(() => s.close());
  const c: TestClients = createTestClients(s.baseUrl, protocol);
  t.after(() => c.close());
  await c.admin.createTopic({ name: "q", queue: true });
  return { s, c };
}

describe("shutdown", () => {
  for (const protocol of PROTOCOLS) {
    it(`shutdown - ${protocol}: a waiting long-poll Pull ends UNAVAILABLE well before the grace period`, async (t) => {
      const { s, c } = await serverWithQueue(t, protocol);
      const pull = c.subscriber.pull({ subscription: "q", maxMessages: 1, waitMs: 30_000 });
      pull.catch(() => {});
      await until(async () => {
        const stats = await c.admin.getStats({});
        return stats.subscriptions.some((x) => x.name === "q" && x.consumers > 0);
      }, "the pull to wait");
      const started = performance.now();
      const closed = s.close();
      await assert.rejects(pull, (e) => codeOf(e) === Code.Unavailable);
      assert.ok(performance.now() - started < GRACE_MS / 2, "the pull ended on the shutdown signal, not the grace");
      await closed;
      assert.ok(performance.now() - started < GRACE_MS / 2, "close did not wait out the grace period");
    });

    it(`shutdown - ${protocol}: a health Watch stream sends NOT_SERVING and ends UNAVAILABLE`, async (t) => {
      const { s, c } = await serverWithQueue(t, protocol);
      const ac = new AbortController();
      t.after(() => ac.abort());
      const statuses: Status[] = [];
      const watching = (async () => {
        for await (const res of c.health.watch({}, { signal: ac.signal })) {
          statuses.push(res.status);
          if (statuses.length === 1) void s.close();
        }
      })();
      await assert.rejects(watching, (e) => codeOf(e) === Code.Unavailable);
      assert.deepEqual(statuses, [Status.SERVING, Status.NOT_SERVING]);
      await s.close();
    });
  }

  it("shutdown - new requests during close get 503 or a refused connection", async (t) => {
    const s = await startTestServer({ config: { shutdownGraceMs: GRACE_MS } });
    t.after(() => s.close());
    const held = await holdRequest(t, s);
    const closed = s.close();
    await shutdownBegun(s);
    const res = await fetch(`${s.baseUrl}/healthz`, { headers: { connection: "close" } }).then(
      (r) => r.status,
      (e: unknown) => String((e as { cause?: { code?: string } }).cause?.code ?? e),
    );
    assert.ok([503, "ECONNREFUSED", "ECONNRESET"].includes(res), `got ${res}`);
    for (const protocol of PROTOCOLS) {
      const c = createTestClients(s.baseUrl, protocol);
      const err = await c.admin.listTopics({}).then(
        () => assert.fail(`${protocol}: expected UNAVAILABLE`),
        (e: unknown) => ConnectError.from(e),
      );
      c.close();
      assert.equal(err.code, Code.Unavailable, `${protocol}: ${err.message}`);
    }
    held.destroy(); // the last in-flight request goes: close() proceeds at once
    await closed;
  });

  it("shutdown - no connection or handle outlives close, and the store is closed last", async (t) => {
    const before = tcpHandles();
    const events: string[] = [];
    const s = await startTestServer({
      config: { shutdownGraceMs: GRACE_MS },
      async openStore(options) {
        const store = await openLmdbStore(options);
        const close = store.close.bind(store);
        store.close = async () => {
          events.push("store.close");
          await close();
        };
        return store;
      },
    });
    t.after(() => s.close());
    for (const protocol of PROTOCOLS) {
      const c = createTestClients(s.baseUrl, protocol);
      await c.admin.createTopic({ name: `t-${protocol}` });
      c.close();
    }
    s.server.shutdownSignal.addEventListener("abort", () => events.push("shutdown signal"));
    await s.close(); // also fails if a connection is still open
    assert.equal(s.server.connections(), 0);
    assert.deepEqual(events, ["shutdown signal", "store.close"]);
    await until(() => tcpHandles() <= before, `TCP handles to go (${tcpHandles()} > ${before})`);
  });
});
