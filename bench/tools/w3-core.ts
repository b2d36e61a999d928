/**
 * W3's pattern through the broker core, in this process (no RPC): a paced publisher (one Publish
 * of `perCall` 1 KiB messages every `intervalMs`; W3's client sent about 9 per call), one
 * Subscribe stream (window 2000, as the bench's consumer) whose every received batch is acked
 * with one Ack call, on an LMDB store with `--durability flush`. Process CPU (all threads: the
 * main thread and LMDB's write thread) per message is the figure to compare; it leaves out what
 * the RPC layer adds per call, so it isolates the core, the store and the commit path.
 *
 *   node --import tsx bench/tools/w3-core.ts [messagesPerRound=20000] [rounds=3] [perCall=9] [intervalMs=1.8] [ackDelayMs/commitDelayMs]
 *
 * The last argument sets `--ack-commit-delay-ms` and `--commit-delay-ms` (default: their defaults).
 *
 * A first round of a quarter of the messages warms the JIT and is not reported. Per round: CPU
 * µs per message, leases per delivered batch and how many came back empty, write transactions per
 * write, and publish call → delivery latency p50/p99.
 */
import { createBroker } from "../../src/core/index.js";
import { openCountedStore } from "../lib/counted-store.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const PAYLOAD_BYTES = 1024;
const perRound = Number(process.argv[2] ?? 20_000);
const rounds = Number(process.argv[3] ?? 3);
const perCall = Number(process.argv[4] ?? 9);
const intervalMs = Number(process.argv[5] ?? 1.8);
const [ackCommitDelayMs, commitDelayMs] = (process.argv[6] ?? "").split("/").map((x) => (x ? Number(x) : undefined));

const dir = makeTempDir("w3-core");
const { store, counts: writeCounts } = await openCountedStore(dir, { ackCommitDelayMs, commitDelayMs });
let leases = 0;
let emptyLeases = 0;
const lease = store.lease.bind(store);
store.lease = async (...args) => {
  leases++;
  const got = await lease(...args);
  if (got.length === 0) emptyLeases++;
  return got;
};
const broker = createBroker({ store });
const controller = new AbortController();
try {
  await broker.createTopic({ name: "w3" });
  await broker.createSubscription({ name: "w3-sub", topic: "w3", start: { kind: "earliest" } });
  /** Per message index: when its Publish call was made. */
  const sentAt: number[] = [];
  const latencies: number[] = [];
  let received = 0;
  let batches = 0;
  const acks = new Set<Promise<void>>();
  const consumer = (async () => {
    const req = { subscription: "w3-sub", maxOutstandingMessages: 2000, maxOutstandingBytes: 64 << 20 };
    for await (const batch of broker.subscribe(req, controller.signal)) {
      const at = performance.now();
      for (const d of batch) latencies.push(at - (sentAt[Number(Buffer.from(d.message.data).readUInt32BE(0))] ?? at));
      received += batch.length;
      batches++;
      const p = broker
        .ack("w3-sub", { ackIds: batch.map((d) => d.ackId), messageIds: [] })
        .finally(() => acks.delete(p));
      acks.add(p);
    }
  })().catch(() => {});

  let next = 0;
  const runRound = async (n: number) => {
    latencies.length = 0;
    const [leases0, empty0, batches0, received0] = [leases, emptyLeases, batches, received];
    const counts0 = writeCounts();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const publishes = new Set<Promise<unknown>>();
    for (let sent = 0; sent < n; sent += perCall) {
      const wait = started + (sent / perCall) * intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const messages = Array.from({ length: perCall }, () => {
        const data = Buffer.alloc(PAYLOAD_BYTES, 7);
        data.writeUInt32BE(next, 0);
        sentAt[next++] = performance.now();
        return { data };
      });
      const p = broker.publish("w3", messages).finally(() => publishes.delete(p));
      publishes.add(p);
    }
    await Promise.all(publishes);
    while (received - received0 < n) await new Promise((r) => setTimeout(r, 1));
    while (acks.size > 0) await Promise.all(acks);
    const used = process.cpuUsage(cpu);
    const counts = writeCounts();
    latencies.sort((a, b) => a - b);
    const q = (x: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * x))] ?? Number.NaN;
    const delivered = batches - batches0;
    return {
      cpuUsPerMessage: (used.user + used.system) / n,
      leasesPerBatch: (leases - leases0) / delivered,
      emptyLeases: emptyLeases - empty0,
      transactionsPerWrite: (counts.batches - counts0.batches) / (counts.writes - counts0.writes),
      p50Ms: q(0.5),
      p99Ms: q(0.99),
    };
  };
  await runRound(Math.ceil(perRound / 4 / perCall) * perCall);
  for (let r = 0; r < rounds; r++) {
    const x = await runRound(Math.ceil(perRound / perCall) * perCall);
    console.log(
      `w3-core: ${x.cpuUsPerMessage.toFixed(1)} µs CPU/message, ${x.leasesPerBatch.toFixed(2)} leases/batch (${x.emptyLeases} empty), ${x.transactionsPerWrite.toFixed(2)} transactions/write, p50 ${x.p50Ms.toFixed(2)} ms, p99 ${x.p99Ms.toFixed(2)} ms`,
    );
  }
  controller.abort();
  await consumer;
} finally {
  controller.abort();
  await broker.close();
  await store.close();
  removeDir(dir);
}
