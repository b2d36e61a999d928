/**
 * Crash durability of consuming (issue 13): the real server as a child process, publishers and
 * consumers acking under load, SIGKILL, restart on the same data dir. No message whose ack was
 * answered is delivered again, every acknowledged publish that was not acked is delivered again,
 * and the drain after the restart delivers each message once. Once for a queue with competing
 * consumers, once for fan-out to several subscriptions.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type CrashClients, crashClients, publishIdsUntil } from "../helpers/crash-clients.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one subscription saw before the crash. */
interface SubLog {
  /** Ids whose Ack call was answered OK. */
  acked: Set<string>;
  /** Ids in Ack calls that were cut short (their fate is unknown). */
  unsure: Set<string>;
}

/** Pulls and acks until the server dies; records answered and cut-short acks. */
async function consume(c: CrashClients, subscription: string, log: SubLog): Promise<void> {
  for (;;) {
    let got: Awaited<ReturnType<CrashClients["sub"]["pull"]>>;
    try {
      got = await c.sub.pull({ subscription, maxMessages: 200, waitMs: 200 });
    } catch {
      return;
    }
    const ids = got.messages.map((m) => m.message?.id ?? "");
    if (ids.length === 0) continue;
    for (const id of ids) log.unsure.add(id);
    try {
      await c.sub.ack({ subscription, ackIds: got.messages.map((m) => m.ackId) });
    } catch {
      return;
    }
    for (const id of ids) {
      log.unsure.delete(id);
      log.acked.add(id);
    }
  }
}

/** Drains a subscription after the restart: every delivery, acked. */
async function drain(c: CrashClients, subscription: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (;;) {
    const res = await c.sub.pull({ subscription, maxMessages: 1000, waitMs: 1500 });
    if (res.messages.length === 0) return seen;
    for (const m of res.messages) {
      const id = m.message?.id ?? "";
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    await c.sub.ack({ subscription, ackIds: res.messages.map((m) => m.ackId) });
  }
}

/** Runs load on `subscriptions` of one topic, kills the server, restarts it and checks each. */
async function crashAndCheck(dataDir: string, topic: string, subscriptions: string[], consumersPerSub: number) {
  let server = await startCli(testServeArgs(dataDir));
  let c = crashClients(server.baseUrl);
  await c.admin.createTopic({ name: topic });
  for (const name of subscriptions) {
    await c.admin.createSubscription({
      subscription: { name, topic, start: { at: { case: "earliest", value: true } } },
    });
  }
  let stop = false;
  const logs = new Map<string, SubLog>(subscriptions.map((s) => [s, { acked: new Set(), unsure: new Set() }]));
  const pubs = [0, 1, 2, 3].map((w) => publishIdsUntil(c, topic, w, () => stop, { payloadBytes: 256, maxBatch: 20 }));
  const consumers = subscriptions.flatMap((s) =>
    Array.from({ length: consumersPerSub }, () => consume(c, s, logs.get(s) as SubLog)),
  );
  // Kill while both sides are busy: after some acks, at a moment that is not a round number.
  const ackedSoFar = () => Math.min(...[...logs.values()].map((l) => l.acked.size));
  const deadline = Date.now() + 30_000;
  while (ackedSoFar() < 3000 && Date.now() < deadline) await sleep(20);
  assert.ok(ackedSoFar() >= 3000, "the consumers acked under load before the crash");
  await sleep(37);
  await server.stop("SIGKILL");
  stop = true;
  const confirmed = new Set((await Promise.all(pubs)).flatMap((s) => [...s]));
  await Promise.all(consumers);

  server = await startCli(testServeArgs(dataDir));
  c = crashClients(server.baseUrl);
  try {
    for (const name of subscriptions) {
      const log = logs.get(name) as SubLog;
      const again = await drain(c, name);
      const redelivered = [...log.acked].filter((id) => again.has(id));
      assert.deepEqual(redelivered, [], `${name}: no message whose ack was answered is delivered again`);
      // An ack cut short by the crash may or may not have been applied: either way is right.
      const lost = [...confirmed].filter((id) => !log.acked.has(id) && !log.unsure.has(id) && !again.has(id));
      assert.deepEqual(lost, [], `${name}: every acknowledged publish not acked is delivered again`);
      const twice = [...again].filter(([, n]) => n > 1);
      assert.deepEqual(twice, [], `${name}: the drain delivers each message once`);
      const stats = await c.admin.getStats({ topics: [topic] });
      assert.equal(stats.subscriptions.find((s) => s.name === name)?.backlog, 0n);
    }
  } finally {
    await server.stop("SIGKILL");
  }
}

test("crash - SIGKILL during consume+ack under load: acked stays acked, unacked comes again, once", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-crash-consume-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  await crashAndCheck(dataDir, "jobs", ["jobs-work"], 3);
});

test("crash - SIGKILL during fan-out: each subscription's acks and backlog survive on their own", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-crash-fanout-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  await crashAndCheck(dataDir, "events", ["fan-a", "fan-b", "fan-c", "fan-d"], 1);
});
