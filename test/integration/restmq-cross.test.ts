/**
 * The RestMQ bridge and the other doors share the broker's queues: an element added over RestMQ is
 * consumed over Connect, an event pushed over RESP (okQ) reaches a comet consumer, and a message
 * published over Connect reaches a websocket consumer.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { createTestClients, PROTOCOLS, type TestClients } from "../helpers/clients.js";
import { form, rawRequest } from "../helpers/raw-http.js";
import { bridgeMetric, openComet, openWs, waitUntil } from "../helpers/restmq-live.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

let server: TestServer;
let rest: string;
let rpc: TestClients;

before(async () => {
  server = await startTestServer();
  rest = server.addresses.restmq as string;
  rpc = createTestClients(server.baseUrl, "connect");
});
after(async () => {
  rpc.close();
  await server.close();
});

const liveCount = () => bridgeMetric(server.baseUrl, "switchyard_bridge_connections", 'bridge="restmq"');

describe("restmq and the other doors", () => {
  for (const protocol of PROTOCOLS) {
    it(`restmq - an element added over RestMQ is pulled over ${protocol} with its key's seq`, async () => {
      const clients = createTestClients(server.baseUrl, protocol);
      try {
        const queue = `to-${protocol}`;
        const r = await rawRequest(rest, "POST", `/q/${queue}`, form("value=from restmq"));
        assert.equal(r.body.toString(), `${queue}:1\r\n`);
        const { messages } = await clients.subscriber.pull({ subscription: queue, maxMessages: 10 });
        assert.equal(messages.length, 1);
        assert.equal(Buffer.from(messages[0]?.message?.data ?? []).toString(), "from restmq");
        assert.equal(messages[0]?.message?.seq, 1n);
        await clients.subscriber.ack({ subscription: queue, ackIds: [messages[0]?.ackId ?? ""] });
        assert.equal((await rawRequest(rest, "GET", `/q/${queue}`)).status, 204);
      } finally {
        clients.close();
      }
    });
  }

  it("restmq - an event pushed over RESP (okQ) reaches a comet consumer of the same queue", async () => {
    assert.ok(server.okq);
    const redis = new Redis({
      host: server.okq.host,
      port: server.okq.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    // okQ makes the queue (with its own dedup scope); the comet consumer attaches to it.
    await redis.connect();
    const comet = openComet(rest, "/c/from-resp");
    try {
      assert.equal(await redis.call("QLPUSH", "from-resp", "evt-1", "made by okq"), "OK");
      assert.deepEqual(await comet.waitForLines(1), ['{"key": "from-resp:1", "value": "made by okq"}']);
      assert.equal(await redis.call("QRPOP", "from-resp"), null, "consumed by the comet stream");
    } finally {
      comet.close();
      redis.disconnect();
      await waitUntil(async () => (await liveCount()) === 0, "the comet consumer to go");
    }
  });

  it("restmq - a message published over Connect reaches a websocket consumer", async () => {
    const ws = await openWs(rest, "/ws/from-connect");
    try {
      await waitUntil(async () => (await liveCount()) === 1, "the websocket consumer");
      // The consumer waits for the queue; a Connect publisher makes it as Connect does (a topic with its queue).
      await rpc.admin.createTopic({ name: "from-connect", queue: true });
      await rpc.publisher.publish({ topic: "from-connect", messages: [{ data: Buffer.from("über") }] });
      assert.deepEqual(await ws.waitForMessages(1), ['{"key": "from-connect:1", "value": "\\u00fcber"}']);
    } finally {
      ws.ws.close();
      await waitUntil(async () => (await liveCount()) === 0, "the websocket consumer to go");
    }
  });

  it("restmq - binary data published over Connect reads as text with U+FFFD for invalid UTF-8", async () => {
    await rpc.admin.createTopic({ name: "binary", queue: true });
    await rpc.publisher.publish({ topic: "binary", messages: [{ data: new Uint8Array([0x61, 0xff, 0x62]) }] });
    const r = await rawRequest(rest, "GET", "/q/binary");
    assert.equal(r.body.toString(), '{"count": 0, "key": "binary:1", "value": "a\\ufffdb"}\r\n');
  });
});
