/**
 * Smoke test of the peer targets (not part of `npm test`): starts each peer, creates a topic with
 * two subscriptions, publishes messages (singles, then batches of 100) through the BenchTarget
 * interface, checks both subscriptions receive every message exactly once, and stops the peer.
 *
 *   node --import tsx bench/peers/smoke.ts [peer ...] [--messages N]
 *
 * Peers: redis-always, redis-everysec, rabbitmq, nats (default: all). Exits non-zero on failure.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNats } from "../targets/nats.js";
import { startRabbitMq } from "../targets/rabbitmq.js";
import { startRedisAlways, startRedisEverysec } from "../targets/redis.js";
import type { BenchConsumer, BenchTarget, StartTarget } from "../targets/target.js";

const PEERS: Record<string, StartTarget> = {
  "redis-always": startRedisAlways,
  "redis-everysec": startRedisEverysec,
  rabbitmq: startRabbitMq,
  nats: startNats,
};

const SUBSCRIPTIONS = 2;
const SINGLES = 100;
const BATCH = 100;

function parseArgs(argv: string[]): { peers: string[]; messages: number } {
  let messages = 1000;
  const peers: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--messages") messages = Number(argv[++i]);
    else if (arg in PEERS) peers.push(arg);
    else throw new Error(`unknown argument ${arg}; peers: ${Object.keys(PEERS).join(", ")}`);
  }
  if (!Number.isInteger(messages) || messages < SINGLES) throw new Error(`--messages must be >= ${SINGLES}`);
  return { peers: peers.length > 0 ? peers : Object.keys(PEERS), messages };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function smoke(peer: string, start: StartTarget, messages: number): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), `peer-smoke-${peer}-`));
  const t0 = performance.now();
  let target: BenchTarget | undefined;
  const consumers: BenchConsumer[] = [];
  try {
    target = await start(dataDir);
    const startMs = performance.now() - t0;
    const topic = `smoke-${process.pid}`;
    await target.createTopic(topic, { subscriptions: SUBSCRIPTIONS });
    const seen = Array.from({ length: SUBSCRIPTIONS }, () => new Set<number>());
    let duplicates = 0;
    let allReceived: () => void = () => undefined;
    const received = new Promise<void>((resolve) => {
      allReceived = resolve;
    });
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      const consumer = await target.consumer(topic, s);
      consumers.push(consumer);
      await consumer.start((batch) => {
        for (const message of batch) {
          const n = new DataView(message.data.buffer, message.data.byteOffset, message.data.byteLength).getUint32(0);
          if (seen[s]!.has(n)) duplicates++;
          seen[s]!.add(n);
        }
        if (seen.every((set) => set.size >= messages)) allReceived();
      });
    }
    const publisher = await target.publisher(topic);
    const payload = (n: number) => {
      const bytes = new Uint8Array(256);
      new DataView(bytes.buffer).setUint32(0, n);
      return bytes;
    };
    const p0 = performance.now();
    for (let n = 0; n < SINGLES; n++) await publisher.publish([payload(n)]);
    const singlesMs = performance.now() - p0;
    const b0 = performance.now();
    for (let n = SINGLES; n < messages; n += BATCH) {
      const count = Math.min(BATCH, messages - n);
      await publisher.publish(Array.from({ length: count }, (_, i) => payload(n + i)));
    }
    const batchMs = performance.now() - b0;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`${peer}: timed out; received ${seen.map((set) => set.size).join("/")} of ${messages}`));
      }, 30_000);
    });
    await Promise.race([received, timeout]).finally(() => clearTimeout(timer));
    const endToEndMs = performance.now() - p0;
    if (duplicates > 0) throw new Error(`${peer}: ${duplicates} duplicate deliveries`);
    await publisher.close();
    for (const consumer of consumers.splice(0)) await consumer.close();
    await target.deleteTopic(topic);
    const pid = target.brokerPid;
    const ackMeaning = target.ackMeaning;
    const stop0 = performance.now();
    await target.stop();
    const stopMs = performance.now() - stop0;
    target = undefined;
    if (pidAlive(pid)) throw new Error(`${peer}: broker pid ${pid} still alive after stop()`);
    const rate = (count: number, ms: number) => Math.round((count * 1000) / ms);
    return [
      `${peer}: ok (start ${Math.round(startMs)} ms, stop ${Math.round(stopMs)} ms; ack: ${ackMeaning})`,
      `  single publishes: ${rate(SINGLES, singlesMs)} msg/s (${((singlesMs * 1000) / SINGLES).toFixed(0)} µs each)`,
      `  batches of ${BATCH}: ${rate(messages - SINGLES, batchMs)} msg/s`,
      `  end to end (${messages} msgs x ${SUBSCRIPTIONS} subscriptions): ${rate(messages, endToEndMs)} msg/s`,
    ].join("\n");
  } finally {
    for (const consumer of consumers) await consumer.close().catch(() => undefined);
    if (target !== undefined) await target.stop().catch((error: unknown) => console.error(error));
    await rm(dataDir, { recursive: true, force: true });
  }
}

const { peers, messages } = parseArgs(process.argv.slice(2));
let failed = false;
for (const peer of peers) {
  try {
    console.log(await smoke(peer, PEERS[peer]!, messages));
  } catch (error) {
    failed = true;
    console.error(`${peer}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}
process.exitCode = failed ? 1 : 0;
