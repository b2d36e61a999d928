/**
 * The okQ bridge on the real server over TCP: the golden transcripts byte for byte, QNOTIFY
 * across two connections, redelivery after EX with a real deadline, 10,000 pipelined pushes,
 * RESP and Connect on the same queue, /metrics.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { encodeCommand } from "../../src/bridges/okq/resp-encoder.js";
import { createTestClients } from "../helpers/clients.js";
import { type RawClient, rawClient } from "../helpers/okq-harness.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";
import { parseTranscript, replayTranscript } from "../helpers/transcript.js";

const TRANSCRIPTS = new URL("../transcripts/okq/", import.meta.url).pathname;
const cmd = (...args: (string | Buffer)[]) => encodeCommand(args);

let server: TestServer;
const sockets: net.Socket[] = [];

before(async () => {
  server = await startTestServer();
});
after(async () => {
  for (const s of sockets) s.destroy();
  await server.close();
});

async function connect(): Promise<RawClient> {
  const { host, port } = server.okq as { host: string; port: number };
  const socket = net.connect(port, host);
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return rawClient(socket);
}

describe("okq server", () => {
  for (const file of readdirSync(TRANSCRIPTS).filter((f) => f.endsWith(".txt"))) {
    it(`okq - transcript ${file} over TCP`, async () => {
      await replayTranscript(await connect(), parseTranscript(join(TRANSCRIPTS, file)));
    });
  }

  it("okq - QNOTIFY on one connection wakes when another pushes to a registered queue", async () => {
    const consumer = await connect();
    const producer = await connect();
    await consumer.roundtrip(cmd("QREGISTER", "nq1", "nq2"), "+OK\r\n");
    consumer.send(cmd("QNOTIFY", "30"));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(consumer.buffered().length, 0, "QNOTIFY waits while the queues are empty");
    await producer.roundtrip(cmd("QLPUSH", "nq2", "e", "x"), "+OK\r\n");
    await consumer.expect("$3\r\nnq2\r\n");
    await consumer.roundtrip(cmd("QRPOP", "nq2", "EX", "0"), "*2\r\n$1\r\ne\r\n$1\r\nx\r\n");
    await consumer.roundtrip(cmd("QNOTIFY", "1"), "$-1\r\n");
  });

  it("okq - an event not acked within EX is delivered again at its deadline", async () => {
    const c = await connect();
    await c.roundtrip(cmd("QLPUSH", "redeliver", "r1", "job"), "+OK\r\n");
    const popped = Date.now();
    await c.roundtrip(cmd("QRPOP", "redeliver", "EX", "1"), "*2\r\n$2\r\nr1\r\n$3\r\njob\r\n");
    await c.roundtrip(cmd("QRPOP", "redeliver"), "$-1\r\n");
    // QNOTIFY wakes when the lease expires (no sweeper interval); bounded by its 5 s timeout.
    await c.roundtrip(cmd("QREGISTER", "redeliver"), "+OK\r\n");
    await c.roundtrip(cmd("QNOTIFY", "5"), "$9\r\nredeliver\r\n");
    assert.ok(Date.now() - popped >= 990, "not before the deadline");
    await c.roundtrip(cmd("QRPOP", "redeliver"), "*2\r\n$2\r\nr1\r\n$3\r\njob\r\n");
    await c.roundtrip(cmd("QACK", "redeliver", "r1"), ":1\r\n");
  });

  it("okq - 10,000 pipelined pushes are answered in order and stored", async () => {
    const c = await connect();
    const n = 10_000;
    c.send(Buffer.concat(Array.from({ length: n }, (_, i) => cmd("QLPUSH", "pipe", `p${i}`, `v${i}`))));
    await c.expect("+OK\r\n".repeat(n), 60_000);
    const rpc = createTestClients(server.baseUrl, "connect");
    try {
      const stats = await rpc.admin.getStats({ topics: ["pipe"] });
      assert.equal(stats.subscriptions.find((s) => s.name === "pipe")?.backlog, BigInt(n));
    } finally {
      rpc.close();
    }
  });

  it("okq - pushed over RESP, consumed over Connect; published over Connect, popped over RESP", async () => {
    const c = await connect();
    const rpc = createTestClients(server.baseUrl, "connect");
    try {
      await c.roundtrip(cmd("QLPUSH", "cross", "from-resp", "hello"), "+OK\r\n");
      const pulled = await rpc.subscriber.pull({ subscription: "cross", maxMessages: 10 });
      assert.deepEqual(
        pulled.messages.map((m) => [m.message?.id, Buffer.from(m.message?.data ?? []).toString()]),
        [["from-resp", "hello"]],
      );
      await rpc.subscriber.ack({ subscription: "cross", ackIds: pulled.messages.map((m) => m.ackId) });
      await rpc.publisher.publish({ topic: "cross", messages: [{ id: "from-connect", data: Buffer.from("hi") }] });
      await c.roundtrip(cmd("QRPOP", "cross"), "*2\r\n$12\r\nfrom-connect\r\n$2\r\nhi\r\n");
      await c.roundtrip(cmd("QACK", "cross", "from-connect"), ":1\r\n");
      const topic = await rpc.admin.getTopic({ name: "cross" });
      assert.equal(topic.topic?.queue, true);
      assert.equal(topic.topic?.dedupScope, 2, "DEDUP_SCOPE_UNACKED");
    } finally {
      rpc.close();
    }
  });

  it("okq - hostile input on many connections never takes the server down", async () => {
    const junk = fc.sample(
      fc.oneof(
        fc.uint8Array({ minLength: 1, maxLength: 512 }),
        fc
          .array(fc.constantFrom("*", "$", "+", "-", ":", "\r\n", "-1", "999999999999", "QLPUSH", "x", '"', " "), {
            maxLength: 60,
          })
          .map((parts) => Buffer.from(parts.join(""))),
      ),
      40,
    );
    await Promise.all(
      junk.map(async (bytes) => {
        const c = await connect();
        c.send(Buffer.from(bytes));
        c.socket.end();
        await c.closed(10_000).catch(() => c.socket.destroy());
      }),
    );
    const probe = await connect();
    await probe.roundtrip(cmd("PING"), "+PONG\r\n");
    await probe.roundtrip(cmd("QLPUSH", "after-junk", "1", "ok"), "+OK\r\n");
  });

  it("okq - /metrics counts the bridge's connections, commands by name and errors", async () => {
    const c = await connect();
    await c.roundtrip(cmd("PING"), "+PONG\r\n");
    await c.roundtrip(cmd("NOPE"), '-ERR unknown command "NOPE"\r\n');
    const text = await (await fetch(`${server.baseUrl}/metrics`, { headers: { connection: "close" } })).text();
    assert.match(text, /# TYPE switchyard_bridge_commands_total counter/);
    assert.match(text, /switchyard_bridge_commands_total\{bridge="okq",command="PING"\} [1-9]\d*/);
    assert.match(text, /switchyard_bridge_commands_total\{bridge="okq",command="QLPUSH"\} [1-9]\d*/);
    assert.match(text, /switchyard_bridge_errors_total\{bridge="okq",command="unknown"\} [1-9]\d*/);
    assert.match(text, /switchyard_bridge_connections\{bridge="okq"\} [1-9]\d*/);
  });
});
