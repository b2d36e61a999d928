/**
 * The GopherMQ bridge with the other doors and over the server's life: a GopherMQ publish consumed
 * over Connect, an okQ (RESP) push fetched through GopherMQ, async publish failures in the log,
 * and messages that outlive a restart (GopherMQ kept them in memory only).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { validateConfig } from "../../src/config/index.js";
import { createBrokerServer } from "../../src/server/index.js";
import type { Logger } from "../../src/util/index.js";
import { createTestClients } from "../helpers/clients.js";
import { postJson, rawRequest } from "../helpers/http-raw.js";
import { startTestServer } from "../helpers/start-test-server.js";

async function subscribe(base: string, subject: string): Promise<string> {
  const res = await postJson(`${base}/api/subscribe`, { subject });
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as { id: string }).id;
}

/** A logger that keeps what it is told. */
function capturingLogger(): Logger & { entries: Array<{ level: string; message: string; fields?: object }> } {
  const entries: Array<{ level: string; message: string; fields?: object }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    entries.push({ level, message, ...(fields ? { fields } : {}) });
  };
  return { entries, info: at("info"), warn: at("warn"), error: at("error") };
}

describe("gophermq doors", () => {
  it("gophermq - a GopherMQ publish is consumed over Connect by a subscription of the subject's topic", async (t) => {
    const s = await startTestServer({ config: { okqPort: "off" } });
    t.after(() => s.close());
    const c = createTestClients(s.baseUrl, "connect");
    t.after(() => c.close());
    await c.admin.createTopic({ name: "orders.created" });
    await c.admin.createSubscription({ subscription: { name: "billing", topic: "orders.created" } });
    const base = `http://${s.addresses.gophermq}`;
    const res = await postJson(`${base}/api/publish`, { subject: "orders.created", data: "order 42" });
    assert.equal(res.text, '{"status":"ok"}\n');
    const pulled = await c.subscriber.pull({ subscription: "billing", maxMessages: 10, waitMs: 1000 });
    assert.equal(pulled.messages.length, 1);
    assert.equal(new TextDecoder().decode(pulled.messages[0]?.message?.data), "order 42");
    assert.equal(pulled.messages[0]?.message?.topic, "orders.created");
  });

  it("gophermq - an okQ push (RESP) is fetched through GopherMQ", async (t) => {
    const s = await startTestServer();
    t.after(() => s.close());
    const base = `http://${s.addresses.gophermq}`;
    const { host, port } = s.okq as { host: string; port: number };
    const socket = net.connect(port, host);
    t.after(() => socket.destroy());
    const replies: Buffer[] = [];
    socket.on("data", (d: Buffer) => replies.push(d));
    const reply = async (expected: string) => {
      for (let i = 0; i < 500 && Buffer.concat(replies).toString() !== expected; i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(Buffer.concat(replies).toString(), expected);
      replies.length = 0;
    };
    // The first push creates the okQ queue (topic "jobs" plus its own subscription).
    socket.write("*4\r\n$6\r\nQLPUSH\r\n$4\r\njobs\r\n$2\r\ne0\r\n$5\r\nfirst\r\n");
    await reply("+OK\r\n");
    const id = await subscribe(base, "jobs");
    const data = Buffer.from([0x68, 0x69, 0xff, 0x3c]); // "hi", an invalid UTF-8 byte, "<"
    socket.write(
      Buffer.concat([Buffer.from("*4\r\n$6\r\nQLPUSH\r\n$4\r\njobs\r\n$2\r\ne1\r\n$4\r\n"), data, Buffer.from("\r\n")]),
    );
    await reply("+OK\r\n");
    const res = await postJson(`${base}/api/fetch`, { subject: "jobs", id });
    // Only what was pushed after the subscribe; bytes that are not UTF-8 come out as Go writes them.
    assert.equal(res.text, `{"data":["hi\\ufffd\\u003c"],"id":"${id}","subject":"jobs"}\n`);
  });

  it("gophermq - async publishes that fail are logged, never dropped silently", async (t) => {
    const logger = capturingLogger();
    const s = await startTestServer({ config: { okqPort: "off" }, logger });
    t.after(() => s.close());
    const base = `http://${s.addresses.gophermq}`;
    await postJson(`${base}/api/publish/async`, { subject: "async.nobody", data: "x" });
    await postJson(`${base}/api/publish/async`, { subject: "bad..subject", data: "x" });
    const failures = () => logger.entries.filter((e) => e.message.startsWith("gophermq: async publish failed"));
    for (let i = 0; i < 200 && failures().length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    const subjectOf = (e: { fields?: object }) => String((e.fields as { subject?: string } | undefined)?.subject);
    assert.deepEqual(
      failures()
        .sort((x, y) => subjectOf(x).localeCompare(subjectOf(y)))
        .map((e) => [e.level, e.fields]),
      [
        ["warn", { bridge: "gophermq", subject: "async.nobody", reason: "no-subscriber" }],
        ["warn", { bridge: "gophermq", subject: "bad..subject", reason: "invalid subject" }],
      ],
    );
  });

  it("gophermq - data over --max-message-bytes and bodies far over it are 413, and nothing is stored", async (t) => {
    const s = await startTestServer({ config: { okqPort: "off", maxMessageBytes: 1024 } });
    t.after(() => s.close());
    const base = `http://${s.addresses.gophermq}`;
    const id = await subscribe(base, "big");
    const tooLarge = '{"message":"Request Entity Too Large"}\n';
    const data = await postJson(`${base}/api/publish`, { subject: "big", data: "x".repeat(1025) });
    assert.equal(data.status, 413);
    assert.equal(data.text, tooLarge);
    const body = await rawRequest(`${base}/api/publish`, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ subject: "big", data: "x".repeat(80_000) }),
    });
    assert.equal(body.status, 413);
    assert.equal(body.text, tooLarge);
    assert.equal((await postJson(`${base}/api/publish`, { subject: "big", data: "x".repeat(1024) })).status, 200);
    const fetched = JSON.parse((await postJson(`${base}/api/fetch`, { subject: "big", id })).text) as {
      data: string[];
    };
    assert.deepEqual(
      fetched.data.map((d) => d.length),
      [1024],
    );
  });

  it("gophermq - published messages survive a restart (durable, unlike GopherMQ)", async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), "switchyard-gophermq-"));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const config = validateConfig({
      dataDir,
      port: 0,
      okqPort: "off",
      // Every other bridge off too: their default ports may be taken on a shared machine.
      opqPort: "off",
      restmqPort: "off",
      ohpqPort: "off",
      ohpqHttpPort: "off",
      gophermqPort: 0,
      gophermqMetricsPort: "off",
      durability: "flush",
      logLevel: "silent",
    });
    const first = createBrokerServer(config);
    const a = await first.start();
    const id = await subscribe(`http://${a.gophermq}`, "durable");
    const pub = await postJson(`http://${a.gophermq}/api/publish`, { subject: "durable", data: "kept" });
    assert.equal(pub.status, 200);
    await first.close();
    const second = createBrokerServer(config);
    const b = await second.start();
    t.after(() => second.close());
    const res = await postJson(`http://${b.gophermq}/api/fetch`, { subject: "durable", id });
    assert.equal(res.text, `{"data":["kept"],"id":"${id}","subject":"durable"}\n`);
  });
});
