/**
 * Crash durability: the real server as a child process, publishes from several concurrent
 * clients, SIGKILL, restart on the same data dir. Every acknowledged publish must be there
 * exactly once, and every message that was leased but not acked must be delivered again.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { crashClients } from "../helpers/crash-clients.js";
import { type RunningCli, startCli, testServeArgs } from "../helpers/spawn-cli.js";

/** Starts `switchyard serve` as a child process on port 0 with its data in `dataDir`. */
function startServer(dataDir: string): Promise<RunningCli> {
  return startCli(testServeArgs(dataDir));
}

const PUBLISHERS = 8;
const LEASE_MS = 1500;

async function crashRound(round: number, dataDir: string): Promise<void> {
  let server = await startServer(dataDir);
  let c = crashClients(server.baseUrl);
  const queue = `crash-${round}`;
  await c.admin.createTopic({ name: queue, queue: true });

  const acked = new Set<string>();
  let stop = false;
  const payload = new Uint8Array(512).fill(round);
  const publishers = Array.from({ length: PUBLISHERS }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      const size = 1 + (n % 10);
      const ids = Array.from({ length: size }, (_, i) => `r${round}-p${w}-${n}-${i}`);
      try {
        await c.pub.publish({ topic: queue, messages: ids.map((id) => ({ id, data: payload })) });
        for (const id of ids) acked.add(id);
      } catch {
        return; // the server died mid-call: this batch's fate is unknown, and that is allowed
      }
    }
  });
  // Lease (and never ack) a few messages while publishing goes on.
  const leased = new Set<string>();
  while (acked.size < 2000) await new Promise((r) => setTimeout(r, 20));
  const got = await c.sub.pull({ subscription: queue, maxMessages: 50, ackDeadlineMs: BigInt(LEASE_MS) });
  for (const m of got.messages) leased.add(m.message?.id ?? "");
  assert.ok(leased.size > 0, "leased some messages before the crash");
  while (acked.size < 4000) await new Promise((r) => setTimeout(r, 20));

  await server.stop("SIGKILL");
  stop = true;
  await Promise.all(publishers);

  server = await startServer(dataDir);
  c = crashClients(server.baseUrl);
  try {
    // Drain: every message comes out once; the leased ones after their lease expires, as attempt 2.
    const seen = new Map<string, number>();
    const attempts = new Map<string, number>();
    for (;;) {
      const res = await c.sub.pull({ subscription: queue, maxMessages: 1000, waitMs: LEASE_MS + 1000 });
      if (res.messages.length === 0) break;
      for (const m of res.messages) {
        const id = m.message?.id ?? "";
        seen.set(id, (seen.get(id) ?? 0) + 1);
        attempts.set(id, m.deliveryAttempt);
      }
      await c.sub.ack({ subscription: queue, ackIds: res.messages.map((m) => m.ackId) });
    }
    const missing = [...acked].filter((id) => !seen.has(id));
    assert.deepEqual(missing, [], "every acknowledged publish survived the crash");
    const dupes = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(dupes, [], "no message was stored or delivered twice");
    for (const id of leased) assert.ok((attempts.get(id) ?? 0) >= 2, `leased message ${id} was delivered again`);
    const stats = await c.admin.getStats({ topics: [queue] });
    assert.equal(stats.subscriptions[0]?.backlog, 0n);
  } finally {
    await server.stop("SIGKILL");
  }
}

test("crash - SIGKILL under concurrent publish loses no acknowledged message and redelivers leases", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-crash-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  for (let round = 1; round <= 3; round++) await crashRound(round, dataDir);
});
