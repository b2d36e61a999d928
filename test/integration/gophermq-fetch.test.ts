/**
 * GopherMQ fetches on the real server: a fetch leases what the subscriber has, answers it, and
 * acks it once the answer is out; a client that goes away before that loses nothing, because the
 * messages are given back (docs/gophermq.md "Fetch").
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { createTestClients } from "../helpers/clients.js";
import { postJson } from "../helpers/http-raw.js";
import { startTestServer, type TestServer } from "../helpers/start-test-server.js";

const MiB = 1024 * 1024;

let server: TestServer;
let base: string;
let port: number;

before(async () => {
  server = await startTestServer({ config: { okqPort: "off" } });
  base = `http://${server.addresses.gophermq}`;
  port = Number(new URL(base).port);
});
after(() => server.close());

async function subscribe(subject: string): Promise<string> {
  const res = await postJson(`${base}/api/subscribe`, { subject });
  assert.equal(res.status, 200, res.text);
  return (JSON.parse(res.text) as { id: string }).id;
}

async function fetchData(subject: string, id: string): Promise<string[]> {
  const res = await postJson(`${base}/api/fetch`, { subject, id });
  assert.equal(res.status, 200, res.text.slice(0, 200));
  return (JSON.parse(res.text) as { data: string[] }).data;
}

function fetchRequest(subject: string, id: string): string {
  const body = JSON.stringify({ subject, id });
  return `POST /api/fetch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
}

/** Polls `check` every 10 ms until it holds, for at most 10 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe("gophermq fetch", () => {
  it("gophermq - a client that half-closes after its fetch loses nothing: what it did not get, the next fetch gets", async () => {
    const subject = "lost.half";
    const id = await subscribe(subject);
    for (const d of ["m1", "m2", "m3"])
      assert.equal((await postJson(`${base}/api/publish`, { subject, data: d })).status, 200);
    const received = await new Promise<string>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.end(fetchRequest(subject, id)));
      let got = "";
      s.on("data", (c: Buffer) => {
        got += c.toString("latin1");
      });
      s.on("error", () => {});
      s.on("close", () => resolve(got));
    });
    // What was not answered is given back (ModifyAckDeadline 0); the next fetch, made at once,
    // waits for that and gets it.
    const answered = received.includes("\r\n\r\n")
      ? (JSON.parse(received.slice(received.indexOf("\r\n\r\n") + 4)) as { data: string[] }).data
      : [];
    assert.deepEqual([...answered, ...(await fetchData(subject, id))], ["m1", "m2", "m3"]);
  });

  it("gophermq - a client that goes away while its answer is written gets its messages on the next fetch", async (t) => {
    const subject = "lost.mid";
    const id = await subscribe(subject);
    const big = "<".repeat(MiB); // 6 MB each as Go writes it: the answer outgrows socket buffers
    for (let i = 0; i < 11; i++) {
      assert.equal((await postJson(`${base}/api/publish`, { subject, data: big })).status, 200);
    }
    const c = createTestClients(server.baseUrl, "connect");
    t.after(() => c.close());
    const stats = async () => (await c.admin.getStats({ topics: [subject] })).subscriptions[0];
    const s = net.connect(port, "127.0.0.1");
    s.pause(); // never reads
    s.on("error", () => {});
    s.write(fetchRequest(subject, id));
    await until("the fetch to lease all 11", async () => (await stats())?.inFlight === 11n);
    s.destroy();
    await until("the release", async () => (await stats())?.inFlight === 0n);
    assert.equal((await stats())?.backlog, 11n);
    const data = await fetchData(subject, id);
    assert.equal(data.length, 11);
    assert.ok(data.every((d) => d === big));
  });

  it("gophermq - over h2c too: a stream reset before the answer is out gives the messages back", async (t) => {
    const subject = "lost.h2";
    const id = await subscribe(subject);
    for (let i = 0; i < 11; i++) {
      assert.equal((await postJson(`${base}/api/publish`, { subject, data: "<".repeat(MiB) })).status, 200);
    }
    const c = createTestClients(server.baseUrl, "connect");
    t.after(() => c.close());
    const stats = async () => (await c.admin.getStats({ topics: [subject] })).subscriptions[0];
    const session = http2.connect(base);
    session.on("error", () => {});
    t.after(() => session.destroy());
    const stream = session.request({ ":method": "POST", ":path": "/api/fetch", "content-type": "application/json" });
    stream.on("error", () => {});
    stream.pause();
    stream.end(JSON.stringify({ subject, id }));
    await until("the fetch to lease all 11", async () => (await stats())?.inFlight === 11n);
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await until("the release", async () => (await stats())?.inFlight === 0n);
    assert.equal((await stats())?.backlog, 11n);
  });

  it("gophermq - a fetch's messages are acked once its answer is out", async (t) => {
    const subject = "acked";
    const id = await subscribe(subject);
    assert.equal((await postJson(`${base}/api/publish`, { subject, data: "a" })).status, 200);
    assert.deepEqual(await fetchData(subject, id), ["a"]);
    const c = createTestClients(server.baseUrl, "connect");
    t.after(() => c.close());
    await until(
      "the ack",
      async () => (await c.admin.getStats({ topics: [subject] })).subscriptions[0]?.backlog === 0n,
    );
    assert.deepEqual(await fetchData(subject, id), []);
  });
});
