/**
 * RestMQ's live consumers against the real server: comet streams over real HTTP/1.1 connections
 * and websockets with the `ws` client. Broadcast and round-robin, purge, start/stop, the stalled
 * consumer that must not hold up the others, and shutdown.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { form, rawRequest } from "../helpers/raw-http.js";
import { bridgeMetric, openComet, openWs, waitUntil } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let rest: string;
let rpc: TestClients;

before(async () => {
  // A small consumer bound (default 8 MiB), so the stalled consumer is cut off after less data.
  server = await startTestServer({ config: { okqPort: "off", restmqMaxConsumerBufferBytes: 1024 * 1024 } });
  rest = server.addresses.restmq as string;
  rpc = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  rpc.close();
  await server.close();
});

const add = (queue: string, value: string) =>
  rawRequest(rest, "POST", `/q/${queue}`, form(`value=${encodeURIComponent(value)}`));
const live = () => bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"');
/**
 * Waits until `n` live consumers are attached. Attaching is synchronous once counted, and the
 * queue's dispatcher then waits for elements (a long-poll Peek), so what is added next reaches them.
 */
async function attached(n: number): Promise<void> {
  await waitUntil(async () => (await live()) === n, `${n} live consumers`);
}
const allGone = () => waitUntil(async () => (await live()) === 0, "every live consumer to be gone");

describe("restmq live consumers", () => {
  it("restmq - comet sends nothing until the first element, then a chunked text/plain line per element", async () => {
    const c = openComet(rest, "/c/cm");
    try {
      await attached(1);
      assert.equal(c.response(), undefined, "no status line or headers before an element");
      assert.equal(c.bytes(), 0);
      await add("cm", "one");
      await add("cm", "2");
      assert.deepEqual(await c.waitForLines(2), ['{"key": "cm:1", "value": "one"}', '{"key": "cm:2", "value": 2}']);
      const res = c.response();
      assert.equal(res?.statusCode, 200);
      assert.equal(res?.headers["content-type"], "text/plain");
      assert.equal(res?.headers["transfer-encoding"], "chunked");
      // Pushed elements left the queue.
      assert.equal((await rawRequest(rest, "GET", "/q/cm")).status, 204);
      assert.equal((await rawRequest(rest, "GET", "/stats/cm")).body.toString().endsWith('"len": 0}'), true);
    } finally {
      c.close();
      await allGone();
    }
  });

  it("restmq - broadcast: two comet streams and a websocket each get every element, in order", async () => {
    const a = openComet(rest, "/c/bc");
    const b = openComet(rest, "/c/bc?callback=got");
    const w = await openWs(rest, "/ws/bc");
    try {
      await attached(3);
      for (let i = 1; i <= 5; i++) await add("bc", `m${i}`);
      const expected = [1, 2, 3, 4, 5].map((i) => `{"key": "bc:${i}", "value": "m${i}"}`);
      assert.deepEqual(await a.waitForLines(5), expected);
      assert.deepEqual(
        await b.waitForLines(5),
        expected.map((l) => `got(${l});`),
      );
      assert.deepEqual(await w.waitForMessages(5), expected, "one text frame per element, no CRLF");
    } finally {
      a.close();
      b.close();
      w.ws.close();
      await allGone();
    }
  });

  it("restmq - round-robin gives each element to one consumer, in turn: 30 elements, 10 each", async () => {
    assert.equal((await rawRequest(rest, "POST", "/p/rr", form("policy=roundrobin"))).body.toString(), "OK\r\n");
    const a = openComet(rest, "/c/rr");
    const b = openComet(rest, "/c/rr");
    const w = await openWs(rest, "/ws/rr");
    try {
      await attached(3);
      for (let i = 1; i <= 30; i++) await add("rr", `e${i}`);
      await waitUntil(() => a.lines.length + b.lines.length + w.messages.length === 30, "30 elements in all");
      assert.deepEqual([a.lines.length, b.lines.length, w.messages.length], [10, 10, 10]);
      const keys = [...a.lines, ...b.lines, ...w.messages].map((l) => (JSON.parse(l) as { key: string }).key).sort();
      assert.deepEqual(keys, Array.from({ length: 30 }, (_, i) => `rr:${i + 1}`).sort(), "each element exactly once");
    } finally {
      a.close();
      b.close();
      w.ws.close();
      await allGone();
    }
  });

  it("restmq - a stalled websocket consumer is cut off at its buffer bound and does not hold up the others", async () => {
    // Published over Connect: the queue must exist (live consumers wait for a queue, they do not make one).
    await rpc.admin.createTopic({ name: "slow", queue: true });
    const fast = openComet(rest, "/c/slow");
    const ws = await openWs(rest, "/ws/slow");
    const stalled = await openWs(rest, "/ws/slow");
    try {
      await attached(3);
      // The stalled client stops reading: once the kernel buffers fill, its output backs up in the server.
      const socket = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      socket.pause();
      const slowBefore = await bridgeMetric(
        server.baseUrl,
        "switchyard_bridge_errors_total",
        'bridge="restmq",command="slow_consumer"',
      );
      // More than loopback's socket buffers hold (several MB) plus the 1 MiB bound.
      const n = 1000;
      const value = "x".repeat(16 * 1024);
      for (let i = 0; i < n; i += 100) {
        await rpc.publisher.publish({
          topic: "slow",
          messages: Array.from({ length: 100 }, () => ({ data: Buffer.from(value) })),
        });
      }
      await fast.waitForLines(n, 20_000);
      await ws.waitForMessages(n, 20_000);
      assert.equal(
        await bridgeMetric(server.baseUrl, "switchyard_bridge_errors_total", 'bridge="restmq",command="slow_consumer"'),
        slowBefore + 1,
        "the stalled consumer was dropped as too slow",
      );
      socket.resume();
      assert.equal(await stalled.closed, 1006, "terminated: no close frame gets through a stalled socket");
      assert.ok(stalled.messages.length < n, `the stalled consumer got ${stalled.messages.length} of ${n}`);
    } finally {
      fast.close();
      ws.ws.close();
      stalled.ws.terminate();
      await allGone();
    }
  });

  it("restmq - DELETE /q ends live consumers: comet gets a last null line, websockets a null frame and 1000", async () => {
    const c = openComet(rest, "/c/del");
    const w = await openWs(rest, "/ws/del");
    try {
      await attached(2);
      await add("del", "before");
      await c.waitForLines(1);
      await w.waitForMessages(1);
      const r = await rawRequest(rest, "DELETE", "/q/del");
      assert.equal(r.body.toString(), '{"queue": "del", "status": 0}\r\n');
      await c.ended;
      assert.deepEqual(c.lines, ['{"key": "del:1", "value": "before"}', "null"]);
      assert.equal(await w.closed, 1000);
      assert.deepEqual(w.messages, ['{"key": "del:1", "value": "before"}', "null"]);
      await allGone();
      // A consumer that never got an element still gets its 200 and the null line.
      const late = openComet(rest, "/c/del");
      await attached(1);
      await rawRequest(rest, "DELETE", "/q/del");
      await late.ended;
      assert.equal(late.response()?.statusCode, 200);
      assert.deepEqual(late.lines, ["null"]);
    } finally {
      c.close();
      w.ws.close();
      await allGone();
    }
  });

  it("restmq - a stopped queue is not dispatched (REST still takes its elements); start resumes", async () => {
    const c = openComet(rest, "/c/ctl");
    try {
      await attached(1);
      await rawRequest(rest, "POST", "/control/ctl", form("status=stop"));
      await add("ctl", "held");
      const got = await rawRequest(rest, "GET", "/q/ctl");
      assert.equal(
        got.body.toString(),
        '{"count": 0, "key": "ctl:1", "value": "held"}\r\n',
        "not dispatched while stopped",
      );
      assert.equal(c.bytes(), 0);
      await rawRequest(rest, "POST", "/control/ctl", form("status=start"));
      await add("ctl", "flows");
      assert.deepEqual(await c.waitForLines(1), ['{"key": "ctl:2", "value": "flows"}']);
    } finally {
      c.close();
      await allGone();
    }
  });

  it("restmq - a consumer of a queue that does not exist makes nothing; the first add makes it and feeds it", async () => {
    const c = openComet(rest, "/c/not-yet");
    const w = await openWs(rest, "/ws/not-yet");
    try {
      await attached(2);
      const { topics } = await rpc.admin.listTopics({});
      assert.equal(
        topics.some((t) => t.name === "not-yet"),
        false,
        "no durable queue for a GET",
      );
      assert.doesNotMatch((await rawRequest(rest, "GET", "/stats/")).body.toString(), /not-yet/);
      await add("not-yet", "first");
      assert.deepEqual(await c.waitForLines(1), ['{"key": "not-yet:1", "value": "first"}']);
      assert.deepEqual(await w.waitForMessages(1), ['{"key": "not-yet:1", "value": "first"}']);
    } finally {
      c.close();
      w.ws.close();
      await allGone();
    }
  });

  it("restmq - a websocket echoes what the client sends; elements still arrive", async () => {
    const w = await openWs(rest, "/ws/echo");
    try {
      w.ws.send("hello there");
      assert.deepEqual(await w.waitForMessages(1), ["hello there"]);
      await attached(1);
      await add("echo", "element");
      assert.deepEqual(await w.waitForMessages(2), ["hello there", '{"key": "echo:1", "value": "element"}']);
    } finally {
      w.ws.close();
      await allGone();
    }
  });

  it("restmq - the live paths refuse what they cannot serve: no queue name, a plain GET on /ws", async () => {
    assert.equal((await rawRequest(rest, "GET", "/c/")).status, 400);
    assert.equal((await rawRequest(rest, "GET", "/ws/x")).status, 400);
    await assert.rejects(openWs(rest, "/ws/"), /handshake answered 400/);
    await assert.rejects(openWs(rest, "/nowhere"), /handshake answered 404/);
  });
});

describe("restmq live consumers at shutdown", () => {
  it("restmq - shutdown ends comet streams and closes websockets with 1001", async () => {
    const s = await startTestServer({ config: { okqPort: "off" } });
    const address = s.addresses.restmq as string;
    const started = openComet(address, "/c/sd");
    const waiting = openComet(address, "/c/sd-empty");
    const w = await openWs(address, "/ws/sd");
    try {
      await waitUntil(
        async () => (await bridgeMetric(s.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"')) === 3,
        "3 consumers",
      );
      await rawRequest(address, "POST", "/q/sd", form("value=v"));
      await started.waitForLines(1);
      await w.waitForMessages(1);
      await s.close();
      await started.ended;
      assert.deepEqual(started.lines, ['{"key": "sd:1", "value": "v"}']);
      await waiting.ended;
      assert.equal(waiting.response()?.statusCode, 503, "a stream with no element yet gets 503");
      assert.equal(await w.closed, 1001);
    } finally {
      started.close();
      waiting.close();
      w.ws.terminate();
      await s.close();
    }
  });
});
