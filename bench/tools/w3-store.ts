/**
 * W3's pattern at the store, in this process (no RPC): every millisecond one append of 5 × 1 KiB
 * (5,000 msg/s, one Publish call a millisecond as W3's 1 ms linger makes it), each committed append
 * followed by a lease of what is there and one Ack of the lease (W3's consumer acks each received
 * batch). Rounds alternate the commit delays given (`ACK/PUBLISH` ms: `--ack-commit-delay-ms` and
 * `--commit-delay-ms`), so the comparison is interleaved on a shared machine. Per round: process
 * CPU (user + system) per message, write transactions per write, and
 * the append-call → leased latency p50/p99 (what W3's e2e latency pays at the store).
 *
 *   node --import tsx bench/tools/w3-store.ts [variants, default 0/0,5/0,5/1] [messagesPerRound] [rounds] [drainFirst] [intervalMs] [trimFirst]
 *
 * `drainFirst` messages are published and acked before each round, as W2 leaves the store before
 * W3 in the full suite, and with `trimFirst` 1 (default) also trimmed (LMDB then reuses the freed
 * pages); with 0 the round starts while the trim still has them to delete, as when W3 follows W2
 * at once.
 */
import { type Broker, createBroker } from "../../src/core/index.js";
import type { AppendRecord, Store } from "../../src/store/index.js";
import { openCountedStore } from "../lib/counted-store.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const PER_CALL = 5;
const PAYLOAD_BYTES = 1024;

const variants = (process.argv[2] ?? "0/0,5/0,5/1").split(",");
const perRound = Number(process.argv[3] ?? 10_000);
const rounds = Number(process.argv[4] ?? 3);
/** Messages published, acked and trimmed before each round (as W2 leaves the store before W3). */
const drainFirst = Number(process.argv[5] ?? 0);
/** Milliseconds between appends (1: W3's 5,000 msg/s; more: a lighter load). */
const intervalMs = Number(process.argv[6] ?? 1);
/** Whether the round waits for the trim of `drainFirst` (1) or starts beside it (0). */
const trimFirst = (process.argv[7] ?? "1") !== "0";

/** Publishes `n` messages in batches of 100, leases and acks them all, and waits for the trim (unless told not to). */
async function fillAndDrain(store: Store, record: AppendRecord, n: number): Promise<void> {
  const batch = Array.from({ length: 100 }, () => record);
  for (let i = 0; i < n; i += batch.length) await store.append("w3", batch, Date.now());
  for (;;) {
    const leased = await store.lease("w3-sub", { max: 1000, leaseMs: 60_000, nowMs: Date.now(), autoAck: false });
    if (leased.length === 0) break;
    await store.ack("w3-sub", { tokens: leased.map((l) => l.token), messageIds: [] }, Date.now());
  }
  while (trimFirst && (await store.hasBackgroundWork())) await new Promise((r) => setTimeout(r, 20));
}

interface RoundResult {
  cpuUsPerMessage: number;
  transactionsPerWrite: number;
  writesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function round(variant: string): Promise<RoundResult> {
  const [ack, publish] = variant.split("/");
  const ackCommitDelayMs = Number(ack);
  const commitDelayMs = Number(publish ?? 0);
  const dir = makeTempDir("w3-store");
  let broker: Broker | undefined;
  const { store, counts: writeCounts } = await openCountedStore(dir, { ackCommitDelayMs, commitDelayMs });
  try {
    broker = createBroker({ store });
    await broker.createTopic({ name: "w3" });
    await broker.createSubscription({ name: "w3-sub", topic: "w3", start: { kind: "earliest" } });
    const data = new Uint8Array(PAYLOAD_BYTES).fill(7);
    const record = { id: "", data, attributes: {}, priority: 0, orderingKey: "", deliverAtMs: 0, expireAtMs: 0 };
    const records = Array.from({ length: PER_CALL }, () => record);
    if (drainFirst > 0) await fillAndDrain(store, record, drainFirst);
    const latencies: number[] = [];
    const inFlight = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>) => {
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    };
    let leasing = false;
    let wantLease = false;
    const calledAt: number[] = [];
    // One consumer: a lease after each committed append, never two at once (a Subscribe stream).
    const consume = async (): Promise<void> => {
      if (leasing) {
        wantLease = true;
        return;
      }
      leasing = true;
      do {
        wantLease = false;
        const now = Date.now();
        const leased = await store.lease("w3-sub", { max: 2000, leaseMs: 60_000, nowMs: now, autoAck: false });
        const at = performance.now();
        // Seqs follow the calls' order (one topic), five per call, after the drained ones. A lease
        // may find a message before its append's answer came back here: the call's time is known.
        for (const l of leased)
          latencies.push(at - (calledAt[Math.floor((l.message.seq - drainFirst - 1) / PER_CALL)] ?? at));
        if (leased.length > 0)
          track(store.ack("w3-sub", { tokens: leased.map((l) => l.token), messageIds: [] }, Date.now()));
      } while (wantLease);
      leasing = false;
    };
    const before = writeCounts();
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let sent = 0; sent < perRound; sent += PER_CALL) {
      const due = started + (sent / PER_CALL) * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      calledAt.push(performance.now());
      track(store.append("w3", records, Date.now()).then(consume));
    }
    while (inFlight.size > 0) await Promise.all(inFlight);
    while (leasing || latencies.length < perRound) await new Promise((r) => setTimeout(r, 1));
    while (inFlight.size > 0) await Promise.all(inFlight);
    const wallS = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const after = writeCounts();
    latencies.sort((a, b) => a - b);
    const q = (x: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * x))] ?? Number.NaN;
    const writes = after.writes - before.writes;
    return {
      cpuUsPerMessage: (used.user + used.system) / perRound,
      transactionsPerWrite: (after.batches - before.batches) / writes,
      writesPerSecond: writes / wallS,
      p50Ms: q(0.5),
      p99Ms: q(0.99),
    };
  } finally {
    await broker?.close();
    await store.close();
    removeDir(dir);
  }
}

for (let r = 0; r < rounds; r++) {
  for (const variant of variants) {
    const x = await round(variant);
    console.log(
      `ack/publish commit delay ${variant} ms: ${x.cpuUsPerMessage.toFixed(1)} µs CPU/message, ${x.transactionsPerWrite.toFixed(2)} transactions/write, ${x.writesPerSecond.toFixed(0)} writes/s, leased p50 ${x.p50Ms.toFixed(2)} ms, p99 ${x.p99Ms.toFixed(2)} ms`,
    );
  }
}
