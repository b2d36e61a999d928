/**
 * The ohpq bridge on the real server over TCP, with LMDB: the golden transcripts byte for byte,
 * the HTTP monitoring endpoints with fetch, and messages crossing doors (ohpq ↔ Connect, RESP →
 * ohpq SUB). Auth is off on this server (the broker has no users yet), so auth.txt runs in the
 * session tests only, against a test authenticator.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients } from "../helpers/clients.js";
import { type RawClient, rawClient } from "../helpers/okq-harness.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { parseTranscript, replayTranscript } from "../helpers/transcript.js";

const TRANSCRIPTS = new URL("../transcripts/ohpq/", import.meta.url).pathname;
/** Transcripts that need the broker's users (auth on). */
const NEEDS_USERS = new Set(["auth.txt"]);

let server: TestServer;
const sockets: net.Socket[] = [];

before(async () => {
  server = await startTestServer({ config: { ohpqBrokerId: "broker-7" } });
});
after(async () => {
  for (const s of sockets) s.destroy();
  await server.close();
});

function hostPort(key: string): { host: string; port: number } {
  const address = server.addresses[key];
  assert.ok(address, `the ${key} listener is up`);
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(address.slice(i + 1)) };
}

async function connect(key = "ohpq"): Promise<RawClient> {
  const { host, port } = hostPort(key);
  const socket = net.connect(port, host);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return rawClient(socket);
}

function httpUrl(path: string): string {
  const { host, port } = hostPort("ohpq-http");
  return `http://${host}:${port}${path}`;
}

describe("ohpq server", () => {
  it("ohpq - the ready line's addresses list ohpq and ohpq-http", () => {
    assert.match(server.addresses.ohpq ?? "", /^127\.0\.0\.1:\d+$/);
    assert.match(server.addresses["ohpq-http"] ?? "", /^127\.0\.0\.1:\d+$/);
  });

  for (const file of readdirSync(TRANSCRIPTS).filter((f) => f.endsWith(".txt") && !NEEDS_USERS.has(f))) {
    it(`ohpq - transcript ${file} over TCP`, async () => {
      await replayTranscript(await connect(), parseTranscript(join(TRANSCRIPTS, file), { lineEnding: "\n" }));
    });
  }

  it("ohpq - a GET's message goes back to the queue when the TCP connection drops", async () => {
    const a = await connect();
    await a.roundtrip("PUB drop-me job\n", "OK\n");
    await a.roundtrip("GET drop-me\n", "MESSAGE drop-me job\n");
    const b = await connect();
    await b.roundtrip("GET drop-me\n", "EMPTY\n");
    a.socket.destroy();
    const clients = createTestClients(server.baseUrl, "connect");
    try {
      const deadline = Date.now() + 5_000;
      const inFlight = async () => (await clients.admin.getStats({ topics: ["drop-me"] })).subscriptions[0]?.inFlight;
      while ((await inFlight()) !== 0n) {
        assert.ok(Date.now() < deadline, "given back within 5 s");
        await new Promise((r) => setTimeout(r, 10));
      }
    } finally {
      clients.close();
    }
    await b.roundtrip("GET drop-me\n", "MESSAGE drop-me job\n");
    await b.roundtrip("ACK drop-me\n", "OK\n");
  });

  it("ohpq - HTTP /health, /status and /queues", async () => {
    const c = await connect();
    await c.roundtrip('PUB mon-a "one"\nPUB mon-a two\nPUB mon-b three\n', "OK\nOK\nOK\n");
    await c.roundtrip("GET mon-a\n", "MESSAGE mon-a one\n");

    const health = await fetch(httpUrl("/health"));
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "OK");

    const status = await fetch(httpUrl("/status"));
    assert.equal(status.status, 200);
    assert.equal(status.headers.get("content-type"), "application/json");
    const statusText = await status.text();
    assert.match(statusText, /^\{"broker_id":"broker-7","uptime_seconds":\d+,"queues":\d+\}\n$/);
    const body = JSON.parse(statusText) as { queues: number; uptime_seconds: number };
    assert.ok(body.queues >= 2);

    const queues = await fetch(httpUrl("/queues"));
    assert.equal(queues.status, 200);
    const all = JSON.parse(await queues.text()) as Record<string, { length: number; pending: number }>;
    assert.deepEqual(all["mon-a"], { length: 1, pending: 1 });
    assert.deepEqual(all["mon-b"], { length: 1, pending: 0 });
    const names = Object.keys(all);
    assert.deepEqual(names, [...names].sort(), "names in byte order");
    await c.roundtrip("ACK mon-a\n", "OK\n");

    const missing = await fetch(httpUrl("/nope"));
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "404 page not found\n");
  });

  it("ohpq - publish over ohpq, pull over Connect", async () => {
    const c = await connect();
    await c.roundtrip('PUB cross-1 "from ohpq\\tand tabs"\n', "OK\n");
    const clients = createTestClients(server.baseUrl, "connect");
    try {
      const res = await clients.subscriber.pull({ subscription: "cross-1", maxMessages: 10 });
      assert.equal(res.messages.length, 1);
      assert.equal(Buffer.from(res.messages[0]?.message?.data ?? []).toString(), "from ohpq\tand tabs");
      await clients.subscriber.ack({ subscription: "cross-1", ackIds: [res.messages[0]?.ackId ?? ""] });
      // And back: published over Connect, read over ohpq.
      await clients.publisher.publish({ topic: "cross-1", messages: [{ data: Buffer.from("from connect") }] });
      await c.roundtrip("GET cross-1\n", "MESSAGE cross-1 from connect\n");
      await c.roundtrip("ACK cross-1\n", "OK\n");
    } finally {
      clients.close();
    }
  });

  it("ohpq - publish over RESP (okQ), receive over ohpq SUB", async () => {
    const sub = await connect();
    await sub.roundtrip("SUB cross-2\n", "OK subscribed\n");
    const resp = await connect("okq");
    await resp.roundtrip(encodeCommand(["QLPUSH", "cross-2", "e1", "pushed over RESP"]), "+OK\r\n");
    await resp.roundtrip(encodeCommand(["QLPUSH", "cross-2", "e2", "line\r\nbreak"]), "+OK\r\n");
    await sub.expect("MESSAGE cross-2 pushed over RESP\n");
    await sub.roundtrip("ACK cross-2\n", 'OK\nMESSAGE cross-2 "line\\r\\nbreak"\n');
    await sub.roundtrip("ACK cross-2\n", "OK\n");
    await resp.roundtrip(
      encodeCommand(["QSTATUS", "cross-2"]),
      "*1\r\n$43\r\ncross-2 total: 0 processing: 0 consumers: 0\r\n",
    );
  });
});
