import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { startGophermqHarness } from "../../../test/helpers/gophermq-harness.js";

const MiB = 1024 * 1024;

async function post(base: string, path: string, value: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(value),
  });
  return { status: res.status, text: await res.text() };
}

/** Polls `check` every 10 ms until it holds, for at most 10 s. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Sends a fetch on a raw socket that never reads its answer. */
function unreadFetch(base: string, body: string): net.Socket {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  socket.pause();
  socket.on("error", () => {});
  socket.write(
    `POST /api/fetch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
  );
  return socket;
}

describe("gophermq fetch leases", () => {
  it("gophermq fetch - messages stay leased until the answer is out, and are acked after", async (t) => {
    const h = await startGophermqHarness(t);
    const { id } = JSON.parse((await post(h.base, "/api/subscribe", { subject: "big" })).text) as { id: string };
    // 11 messages of 1 MiB of '<' make a 66 MB answer: far more than socket buffers hold.
    for (let i = 0; i < 11; i++) {
      assert.equal((await post(h.base, "/api/publish", { subject: "big", data: "<".repeat(MiB) })).status, 200);
    }
    const stats = async () => (await h.clients.admin.getStats({ topics: ["big"] })).subscriptions[0];
    const socket = unreadFetch(h.base, JSON.stringify({ subject: "big", id }));
    t.after(() => socket.destroy());
    await until("the fetch to lease all 11", async () => (await stats())?.inFlight === 11n);
    assert.equal((await stats())?.backlog, 11n, "not acked while the answer is unread");
    let received = 0;
    const ended = new Promise<void>((resolve) => socket.on("end", resolve));
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= 66 * MiB) socket.end();
    });
    socket.resume();
    await ended;
    await until("the acks", async () => (await stats())?.backlog === 0n);
    assert.equal(
      (await post(h.base, "/api/fetch", { subject: "big", id })).text,
      `{"data":[],"id":"${id}","subject":"big"}\n`,
    );
  });

  it("gophermq fetch - an answer the client does not read within the write timeout: dropped, messages given back", async (t) => {
    const h = await startGophermqHarness(t, { fetchWriteTimeoutMs: 300 });
    const { id } = JSON.parse((await post(h.base, "/api/subscribe", { subject: "slow" })).text) as { id: string };
    for (let i = 0; i < 11; i++) {
      assert.equal((await post(h.base, "/api/publish", { subject: "slow", data: "<".repeat(MiB) })).status, 200);
    }
    const socket = unreadFetch(h.base, JSON.stringify({ subject: "slow", id }));
    t.after(() => socket.destroy());
    const stats = async () => (await h.clients.admin.getStats({ topics: ["slow"] })).subscriptions[0];
    await until("the fetch to lease all 11", async () => (await stats())?.inFlight === 11n);
    // The bridge gives up on the answer after 300 ms: it drops the connection and releases.
    await until("the release", async () => (await stats())?.inFlight === 0n);
    assert.equal((await stats())?.backlog, 11n);
    // Available again at once (a fetch through HTTP would need more than 300 ms to read 66 MB).
    // max_bytes: a Pull's answer is bounded to 4 MiB unless it asks for more.
    const again = await h.clients.subscriber.pull({
      subscription: `gophermq-${id}`,
      maxMessages: 20,
      maxBytes: BigInt(16 * MiB),
    });
    assert.equal(again.messages.length, 11);
    assert.ok(again.messages.every((m) => Buffer.from(m.message?.data ?? []).equals(Buffer.alloc(MiB, 0x3c))));
  });
});
