/**
 * Crash durability of delivery attempts (issue 13): leases live in memory and only what must
 * survive is written (a nack's attempt count and delay), so after a SIGKILL a delivery attempt
 * may repeat but never goes backwards. The real server as a child process; consumers nack most
 * messages (some with a delay) and ack the rest while a publisher keeps publishing; SIGKILL;
 * restart on the same data dir; the drain checks every message's first attempt after the restart.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { type CrashClients, crashClients } from "../helpers/crash-clients.js";
import { startCli, testServeArgs } from "../helpers/spawn-cli.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the consumers saw before the crash, per message id. */
interface Seen {
  /** The highest delivery attempt handed out. */
  maxAttempt: Map<string, number>;
  /** The attempt of the last delivery whose Nack was answered (it must not come again). */
  nacked: Map<string, number>;
  /** Ids whose Ack was answered. */
  acked: Set<string>;
  /** Ids in an Ack cut short by the crash (either fate is right). */
  unsureAck: Set<string>;
  /** Answered nacks in all. */
  nacks: number;
}

/** A message is acked once it reached this attempt; until then it is nacked. */
const ACK_AT_ATTEMPT = 6;

/** Publishes batches until `stop`; resolves with the ids whose Publish was answered. */
async function publisher(c: CrashClients, topic: string, stop: () => boolean): Promise<Set<string>> {
  const confirmed = new Set<string>();
  const data = new Uint8Array(128).fill(3);
  for (let n = 0; !stop(); n++) {
    const ids = Array.from({ length: 1 + (n % 7) }, (_, i) => `m-${n}-${i}`);
    try {
      await c.pub.publish({ topic, messages: ids.map((id) => ({ id, data })) });
    } catch {
      return confirmed; // the server died mid-call: this batch's fate is unknown
    }
    for (const id of ids) confirmed.add(id);
    await sleep(5);
  }
  return confirmed;
}

/** Pulls; nacks what is below ACK_AT_ATTEMPT (every third with a delay), acks the rest. */
async function consumer(c: CrashClients, subscription: string, seen: Seen): Promise<void> {
  for (let round = 0; ; round++) {
    let got: Awaited<ReturnType<CrashClients["sub"]["pull"]>>;
    try {
      got = await c.sub.pull({ subscription, maxMessages: 50, waitMs: 200 });
    } catch {
      return;
    }
    const nack: { id: string; ackId: string; attempt: number }[] = [];
    const ack: { id: string; ackId: string }[] = [];
    for (const m of got.messages) {
      const id = m.message?.id ?? "";
      const attempt = m.deliveryAttempt;
      assert.ok(attempt >= (seen.maxAttempt.get(id) ?? 0), `${id}: attempts only go up while the server runs`);
      seen.maxAttempt.set(id, attempt);
      if (attempt >= ACK_AT_ATTEMPT) ack.push({ id, ackId: m.ackId });
      else nack.push({ id, ackId: m.ackId, attempt });
    }
    try {
      if (nack.length > 0) {
        const delayMs = BigInt(round % 3 === 0 ? 40 : 0);
        await c.sub.nack({ subscription, ackIds: nack.map((x) => x.ackId), delayMs, error: "try again" });
        for (const x of nack) seen.nacked.set(x.id, x.attempt);
        seen.nacks += nack.length;
      }
      for (const x of ack) seen.unsureAck.add(x.id);
      if (ack.length > 0) await c.sub.ack({ subscription, ackIds: ack.map((x) => x.ackId) });
      for (const x of ack) {
        seen.unsureAck.delete(x.id);
        seen.acked.add(x.id);
      }
    } catch {
      return;
    }
  }
}

/** Drains after the restart: each message's first attempt, and how often it came. */
async function drain(c: CrashClients, subscription: string) {
  const first = new Map<string, number>();
  const count = new Map<string, number>();
  for (;;) {
    const res = await c.sub.pull({ subscription, maxMessages: 1000, waitMs: 1500 });
    if (res.messages.length === 0) return { first, count };
    for (const m of res.messages) {
      const id = m.message?.id ?? "";
      if (!first.has(id)) first.set(id, m.deliveryAttempt);
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    await c.sub.ack({ subscription, ackIds: res.messages.map((m) => m.ackId) });
  }
}

test("crash - SIGKILL while nacking under load: a delivery attempt may repeat, never goes backwards", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "switchyard-crash-attempts-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  let server = await startCli(testServeArgs(dataDir));
  let c = crashClients(server.baseUrl);
  const topic = "retries";
  const subscription = "retries-work";
  await c.admin.createTopic({ name: topic });
  await c.admin.createSubscription({
    subscription: { name: subscription, topic, start: { at: { case: "earliest", value: true } } },
  });
  const seen: Seen = { maxAttempt: new Map(), nacked: new Map(), acked: new Set(), unsureAck: new Set(), nacks: 0 };
  let stop = false;
  const published = publisher(c, topic, () => stop);
  const consumers = Array.from({ length: 3 }, () => consumer(c, subscription, seen));
  // Kill while messages are at every attempt: some acked, many nacked more than once.
  const deadline = Date.now() + 30_000;
  const busy = () => seen.acked.size >= 200 && seen.nacks >= 3000;
  while (!busy() && Date.now() < deadline) await sleep(20);
  assert.ok(busy(), "the consumers nacked and acked under load before the crash");
  await sleep(23);
  await server.stop("SIGKILL");
  stop = true;
  const confirmed = await published;
  await Promise.all(consumers);

  server = await startCli(testServeArgs(dataDir));
  c = crashClients(server.baseUrl);
  try {
    const { first, count } = await drain(c, subscription);
    const backwards = [...first].filter(([id, attempt]) => attempt < (seen.maxAttempt.get(id) ?? 1));
    assert.deepEqual(backwards, [], "no message comes back at a lower attempt than it was handed out at");
    const repeatedNacked = [...first].filter(([id, attempt]) => attempt <= (seen.nacked.get(id) ?? 0));
    assert.deepEqual(repeatedNacked, [], "an answered nack's attempt is never handed out again");
    const redelivered = [...seen.acked].filter((id) => first.has(id));
    assert.deepEqual(redelivered, [], "no message whose ack was answered is delivered again");
    const lost = [...confirmed].filter((id) => !seen.acked.has(id) && !seen.unsureAck.has(id) && !first.has(id));
    assert.deepEqual(lost, [], "every acknowledged publish not acked is delivered again");
    const twice = [...count].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "the drain delivers each message once");
    const high = [...first.values()].filter((a) => a >= 3).length;
    assert.ok(high > 0, "some messages came back after the restart with attempts above 2");
  } finally {
    await server.stop("SIGKILL");
  }
});
