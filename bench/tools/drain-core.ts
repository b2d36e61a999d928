/**
 * W2's and W4's drain through the broker core, in this process (no HTTP/2): a backlog of
 * `messages` messages of `payloadBytes` is published to a topic with `subscriptions`
 * subscriptions, then one Subscribe stream per subscription (window 2000, as the bench's
 * consumers) drains it; each batch it yields is encoded as the lean path sends it
 * (rpc/lean/delivery-encoder.ts), and acked with one Ack call whose request is decoded as the
 * lean path decodes it (rpc/lean/ack-codec.ts), at most 4 Acks in flight per stream. Process CPU
 * (all threads: the main thread and LMDB's write thread) per delivered message over the drain
 * is the figure to compare: it leaves out the RPC transport and the client, and isolates
 * delivery, settling, the encoders and the commit path (on a loaded machine it still varies by
 * ±20 % from round to round, mostly with the garbage collector: alternate trees, take medians).
 *
 *   node --import tsx bench/tools/drain-core.ts [messages=50000] [subscriptions=1] [payloadBytes=1024] [rounds=5]
 *
 * Through tsx every call into another module goes through a getter of that module's exports,
 * which V8 does not always inline (in a profile of the delivery encoder, a third of its time was
 * `get`); the broker runs one esbuild bundle (README "Running") with none. For figures that
 * compare with the broker's, run it bundled the same way (dist/ is gitignored; lmdb stays
 * external, so the bundle must sit in the checkout to find it):
 *
 *   npx esbuild bench/tools/drain-core.ts --bundle --platform=node --format=esm --target=node20 \
 *     --external:lmdb --external:pino --external:pino-pretty \
 *     "--banner:js=import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
 *     --outfile=dist/drain-core.mjs && node dist/drain-core.mjs 50000 1 1024 5
 *
 * The drain's figure includes the background work it leaves (the trim), by an idle wait after it.
 * With DRAIN_CORE_PROFILE=DIR, a CPU profile of the reported rounds' drains alone (publishes
 * left out) is written per round to DIR/drain-core-N.cpuprofile, for bench/tools/cpuprofile-top.ts.
 *
 * A first round of a quarter of the messages warms the JIT and is not reported. Prints each
 * round's CPU µs per delivered message and the garbage collections of its drain, then the median.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { constants, PerformanceObserver } from "node:perf_hooks";
import { createBroker } from "../../src/core/index.js";
import { decodeAckRequest } from "../../src/rpc/lean/ack-codec.js";
import { encodeDeliveries } from "../../src/rpc/lean/delivery-encoder.js";
import { openCountedStore } from "../lib/counted-store.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const messages = Number(process.argv[2] ?? 50_000);
const subscriptions = Number(process.argv[3] ?? 1);
const payloadBytes = Number(process.argv[4] ?? 1024);
const rounds = Number(process.argv[5] ?? 5);
/** Messages per Publish call (the bench's batched publishers flush at 100). */
const PER_CALL = 100;
/** Acks in flight per stream (as the bench's consumers). */
const MAX_ACKS = 4;

/** Idle time before and after a drain for background work to end (costs no CPU). */
const SETTLE_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An AckRequest in the binary format: the subscription (field 1) and the ack ids (field 2). */
function ackRequestBytes(subscription: string, ackIds: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  const field = (tag: number, s: string) => {
    const b = Buffer.from(s, "latin1");
    if (b.length > 127) throw new Error("ack id too long for this tool");
    parts.push(Buffer.from([tag, b.length]), b);
  };
  field(0x0a, subscription);
  for (const id of ackIds) field(0x12, id);
  return Buffer.concat(parts);
}

const profileDir = process.env.DRAIN_CORE_PROFILE;
const session = profileDir ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
}
let profiling = false;

const dir = makeTempDir("drain-core");
const { store } = await openCountedStore(dir, { ackCommitDelayMs: undefined, commitDelayMs: undefined });
const broker = createBroker({ store });
const subs = Array.from({ length: subscriptions }, (_, i) => `drain-${i}`);

/** Drains what the subscription holds now with one stream; resolves after its last ack. */
async function drain(name: string, want: number): Promise<number> {
  const controller = new AbortController();
  const acks = new Set<Promise<void>>();
  let received = 0;
  let encodedBytes = 0;
  const req = { subscription: name, maxOutstandingMessages: 2000, maxOutstandingBytes: 64 << 20 };
  try {
    for await (const batch of broker.subscribe(req, controller.signal)) {
      encodedBytes += encodeDeliveries(batch, 5).length;
      received += batch.length;
      const decoded = decodeAckRequest(
        ackRequestBytes(
          name,
          batch.map((d) => d.ackId),
        ),
      );
      if (!decoded) throw new Error("ack request not decoded");
      const p = broker
        .ack(decoded.subscription, { ackIds: decoded.ackIds, messageIds: decoded.messageIds })
        .finally(() => acks.delete(p));
      acks.add(p);
      while (acks.size >= MAX_ACKS) await Promise.race(acks);
      if (received >= want) break;
    }
  } finally {
    controller.abort();
  }
  await Promise.all(acks);
  return encodedBytes;
}

/** Garbage collections while a drain is measured: count and ms, minor (scavenge) and major. */
const gc = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
let measuring = false;
new PerformanceObserver((list) => {
  if (!measuring) return;
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail: { kind: number } }).detail.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minor++;
      gc.minorMs += e.duration;
    } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
      gc.major++;
      gc.majorMs += e.duration;
    }
  }
}).observe({ entryTypes: ["gc"] });

/** The drains' profiles (DRAIN_CORE_PROFILE). */
const profiles: unknown[] = [];

async function round(n: number): Promise<number> {
  const data = Buffer.alloc(payloadBytes, 7);
  for (let sent = 0; sent < n; sent += PER_CALL) {
    await broker.publish(
      "drain",
      Array.from({ length: Math.min(PER_CALL, n - sent) }, () => ({ data })),
    );
  }
  await sleep(SETTLE_MS); // the publishes' background work (trims, flushes) is not the drain's
  if (profiling) await session?.post("Profiler.start");
  Object.assign(gc, { minor: 0, minorMs: 0, major: 0, majorMs: 0 });
  measuring = true;
  const cpu = process.cpuUsage();
  await Promise.all(subs.map((s) => drain(s, n)));
  await sleep(SETTLE_MS); // the drain's background trim of the log is
  const used = process.cpuUsage(cpu);
  await sleep(0); // the observer's last entries
  measuring = false;
  if (profiling && session) profiles.push((await session.post("Profiler.stop")).profile);
  return (used.user + used.system) / (n * subscriptions);
}

try {
  await broker.createTopic({ name: "drain" });
  for (const name of subs) await broker.createSubscription({ name, topic: "drain", start: { kind: "latest" } });
  await round(Math.ceil(messages / 4));
  profiling = session !== undefined;
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const us = await round(messages);
    results.push(us);
    console.log(
      `drain-core round ${r + 1}: ${us.toFixed(2)} µs CPU/delivered message; gc: ${gc.minor} minor ${gc.minorMs.toFixed(0)} ms, ${gc.major} major ${gc.majorMs.toFixed(0)} ms`,
    );
  }
  results.sort((a, b) => a - b);
  console.log(
    `drain-core: ${messages} × ${payloadBytes} B, ${subscriptions} subscription(s): median ${(results[Math.floor(results.length / 2)] as number).toFixed(2)} µs CPU/delivered message`,
  );
  if (profileDir && profiles.length > 0) {
    for (let i = 0; i < profiles.length; i++) {
      writeFileSync(join(profileDir, `drain-core-${i + 1}.cpuprofile`), JSON.stringify(profiles[i]));
    }
  }
} finally {
  await broker.close();
  await store.close();
  removeDir(dir);
}
