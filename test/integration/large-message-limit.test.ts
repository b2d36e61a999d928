/**
 * Issue 16 item 10, checked end to end: `--max-message-bytes` above the 16 MiB batch limit raises
 * the batch limit with it, so a message of the allowed size is stored through every door that
 * carries one, not refused as a batch that is too large.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import { test } from "node:test";
import { createTestClients } from "../helpers/clients.js";
import { startTestServer } from "../helpers/start-test-server.js";

const MIB = 1024 * 1024;

test("limits - with --max-message-bytes 20 MiB a 17 MiB message is stored over gRPC and okQ", async (t) => {
  const s = await startTestServer({ config: { maxMessageBytes: 20 * MIB } });
  t.after(() => s.close());
  const c = createTestClients(s.baseUrl, "grpc");
  t.after(() => c.close());
  await c.admin.createTopic({ name: "big", queue: true });
  const data = Buffer.alloc(17 * MIB, 7);
  const res = await c.publisher.publish({ topic: "big", messages: [{ data }] });
  assert.equal(res.results[0]?.seq, 1n);

  const okq = s.okq as { host: string; port: number };
  const socket = net.connect(okq);
  t.after(() => socket.destroy());
  let reply = "";
  socket.on("data", (d: Buffer) => {
    reply += d.toString("latin1");
  });
  socket.write(
    Buffer.concat([
      Buffer.from(`*4\r\n$6\r\nQLPUSH\r\n$3\r\nbig\r\n$2\r\ne2\r\n$${data.length}\r\n`),
      data,
      Buffer.from("\r\n"),
    ]),
  );
  const deadline = Date.now() + 30_000;
  while (!reply.includes("\r\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(reply, "+OK\r\n");
  const stats = await c.admin.getStats({ topics: ["big"] });
  assert.equal(stats.subscriptions[0]?.backlog, 2n);
});
