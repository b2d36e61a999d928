/**
 * Crash durability of acks by message id (how okQ's QACK acks), whose id entries the trim deletes
 * after the ack (src/store/engine/id-deletes.ts): the real server as a child process, publishers
 * with client ids and consumers acking by id on a topic whose dedup lasts while a message is
 * unacked, SIGKILL, restart on the same data dir. No message whose ack was answered comes again,
 * every acknowledged publish that was not acked does, once; an id acked before the crash is free
 * again (a new publish of it is not a duplicate), and that new message can be acked by its id.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DedupScope } from "../../gen/switchyard/v1/types_pb.js";
import { type CrashClients, crashClients, publishIdsUntil } from "../helpers/crash-clients.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pulls and acks by message id until the server dies; records answered and cut-short acks. */
async function consumer(c: CrashClients, subscription: string, acked: Set<string>, unsure: Set<string>) {
  for (;;) {
    let ids: string[];
    try {
      const got = await c.sub.pull({ subscription, maxMessages: 100, waitMs: 200 });
      ids = got.messages.map((m) => m.message?.id ?? "");
    } catch {
      return;
    }
    if (ids.length === 0) continue;
    for (const id of ids) unsure.add(id);
    try {
      await c.sub.ack({ subscription, messageIds: ids });
    } catch {
      return;
    }
    for (const id of ids) {
      unsure.delete(id);
      acked.add(id);
    }
  }
}

test("crash - SIGKILL while acking by message id: acked stays acked, its id is free again, unacked comes again once", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-crash-ack-by-id-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const topic = "okq-like";
  let server = await startCli(testServeArgs(dataDir));
  let c = crashClients(server.baseUrl);
  await c.admin.createTopic({ name: topic, queue: true, dedupScope: DedupScope.UNACKED });
  let stop = false;
  const acked = new Set<string>();
  const unsure = new Set<string>();
  const pubs = [0, 1, 2].map((w) => publishIdsUntil(c, topic, w, () => stop, { payloadBytes: 128, maxBatch: 16 }));
  const consumers = [0, 1, 2].map(() => consumer(c, topic, acked, unsure));
  const deadline = Date.now() + 30_000;
  while (acked.size < 3000 && Date.now() < deadline) await sleep(20);
  assert.ok(acked.size >= 3000, "the consumers acked by id under load before the crash");
  await sleep(29);
  await server.stop("SIGKILL");
  stop = true;
  const confirmed = new Set((await Promise.all(pubs)).flatMap((s) => [...s]));
  await Promise.all(consumers);

  server = await startCli(testServeArgs(dataDir));
  c = crashClients(server.baseUrl);
  try {
    const again = new Map<string, number>();
    for (;;) {
      const res = await c.sub.pull({ subscription: topic, maxMessages: 1000, waitMs: 1500 });
      if (res.messages.length === 0) break;
      const ids = res.messages.map((m) => m.message?.id ?? "");
      for (const id of ids) again.set(id, (again.get(id) ?? 0) + 1);
      await c.sub.ack({ subscription: topic, messageIds: ids });
    }
    assert.deepEqual(
      [...acked].filter((id) => again.has(id)),
      [],
      "no message whose ack was answered is delivered again",
    );
    const lost = [...confirmed].filter((id) => !acked.has(id) && !unsure.has(id) && !again.has(id));
    assert.deepEqual(lost, [], "every acknowledged publish not acked is delivered again");
    assert.deepEqual(
      [...again].filter(([, n]) => n > 1),
      [],
      "the drain delivers each message once",
    );
    // Ids acked just before the crash (their entries' deletes were waiting in memory) are free.
    const reused = [...acked].slice(-200);
    const res = await c.pub.publish({ topic, messages: reused.map((id) => ({ id, data: new Uint8Array([1]) })) });
    assert.deepEqual(
      res.results.filter((r) => r.duplicate).map((r) => r.id),
      [],
      "an id acked before the crash is not a duplicate",
    );
    const got = await c.sub.pull({ subscription: topic, maxMessages: 1000, waitMs: 1500 });
    assert.deepEqual(got.messages.map((m) => m.message?.id).sort(), [...reused].sort());
    await c.sub.ack({ subscription: topic, messageIds: reused });
    const stats = await c.admin.getStats({ topics: [topic] });
    assert.equal(stats.subscriptions.find((s) => s.name === topic)?.backlog, 0n, "acked by id, all of them");
  } finally {
    await server.stop("SIGKILL");
  }
});
