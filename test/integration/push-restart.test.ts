/**
 * Push delivery across restarts: the real CLI process on a temp data dir, killed (or stopped)
 * while a local webhook target holds a request open, then started again on the same data.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { PushConfig } from "../../gen/switchyard/v1/types_pb.js";
import { createTestClients, type TestClients } from "../helpers/clients.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";
import { startWebhookTarget } from "../helpers/webhook-target.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

async function pushSub(c: TestClients, name: string, topic: string, push: Partial<Omit<PushConfig, "$typeName">>) {
  await c.admin.createSubscription({ subscription: { name, topic, push } });
}

/** Polls GetStats until the subscription's backlog is empty (a bounded wait, not a timing assertion). */
async function drained(c: TestClients, name: string) {
  for (let i = 0; i < 400; i++) {
    const s = (await c.admin.getStats({})).subscriptions.find((x) => x.name === name);
    if (s?.backlog === 0n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`${name} never drained`);
}

describe("push subscriptions across restarts", () => {
  it("push - a restart in the middle of delivery resumes it (SIGKILL while the endpoint holds a request)", async (t) => {
    const target = await startWebhookTarget();
    const dataDir = await mkdtemp(join(tmpdir(), "switchyard-push-"));
    t.after(async () => {
      await target.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    let holding = true;
    target.on("/r", () => (holding ? "hold" : 200));
    const first = await startCli(testServeArgs(dataDir));
    try {
      const c = createTestClients(first.baseUrl, "connect");
      await c.admin.createTopic({ name: "t" });
      await pushSub(c, "r", "t", { endpoint: target.url("/r"), timeoutMs: 2_000n });
      await c.publisher.publish({ topic: "t", messages: ["a", "b", "c"].map((s) => ({ data: utf8(s) })) });
      await target.waitFor("/r", 1);
      c.close();
    } finally {
      await first.stop("SIGKILL");
    }
    holding = false;
    target.release(500);
    const second = await startCli(testServeArgs(dataDir));
    try {
      const got = await target.waitFor("/r", 4);
      // Leases live in the broker's memory (README "Durability"): after the crash a, b and c all go
      // at once. a's attempt may repeat (1) or count the delivery the crash cut short (2), never less.
      const delivered = got.slice(1).map((r) => [r.body.toString(), r.headers["switchyard-delivery-attempt"]]);
      const a = delivered.find(([body]) => body === "a");
      assert.ok(a && (a[1] === "1" || a[1] === "2"), `a again, attempt 1 or 2: ${JSON.stringify(a)}`);
      assert.deepEqual(delivered.filter(([body]) => body !== "a").sort(), [
        ["b", "1"],
        ["c", "1"],
      ]);
      const c = createTestClients(second.baseUrl, "connect");
      await drained(c, "r");
      c.close();
    } finally {
      const exit = await second.stop();
      assert.equal(exit.code, 0);
    }
  });

  it("push - a graceful shutdown gives back what the endpoint held; the restart delivers it at once", async (t) => {
    const target = await startWebhookTarget();
    const dataDir = await mkdtemp(join(tmpdir(), "switchyard-push-"));
    t.after(async () => {
      await target.close();
      await rm(dataDir, { recursive: true, force: true });
    });
    let holding = true;
    target.on("/g", () => (holding ? "hold" : 200));
    const first = await startCli([...testServeArgs(dataDir), "--shutdown-grace-ms", "200"]);
    try {
      const c = createTestClients(first.baseUrl, "connect");
      await c.admin.createTopic({ name: "t" });
      // A long timeout: only the shutdown, not the lease, can end the held request in time.
      await pushSub(c, "g", "t", { endpoint: target.url("/g"), timeoutMs: 120_000n });
      await c.publisher.publish({ topic: "t", messages: [{ data: utf8("a") }] });
      await target.waitFor("/g", 1);
      c.close();
    } finally {
      const exit = await first.stop("SIGTERM");
      assert.equal(exit.code, 0);
    }
    assert.equal(target.at("/g")[0]?.aborted(), true);
    holding = false;
    const second = await startCli(testServeArgs(dataDir));
    try {
      const got = await target.waitFor("/g", 2, 10_000);
      assert.equal(got[1]?.body.toString(), "a");
    } finally {
      await second.stop();
    }
  });
});
