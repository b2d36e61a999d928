/**
 * CPU per message of publishing through the broker core on an LMDB store, in this process (no
 * RPC): batches of 86 1 KiB messages (W1 batched's average batch), 3 publishes in flight (its
 * 256-message window), one subscription. Prints the minimum, 25th percentile and median of the
 * process CPU (user + system) per message over the rounds: on a shared machine the minimum is
 * the steadiest figure.
 *
 *   node --import tsx bench/tools/core-publish.ts [none|commit|flush] [messagesPerRound] [rounds]
 */
import { createBroker } from "../../src/core/index.js";
import { type Durability, openLmdbStore } from "../../src/store/index.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const BATCH_MESSAGES = 86;
const IN_FLIGHT = 3;
const PAYLOAD_BYTES = 1024;

const durability = (process.argv[2] ?? "none") as Durability;
const perRound = Number(process.argv[3] ?? 43_000);
const rounds = Number(process.argv[4] ?? 20);

const dir = makeTempDir("core-publish");
const store = await openLmdbStore({ path: dir, durability });
const broker = createBroker({ store });
try {
  await broker.createTopic({ name: "w1" });
  await broker.createSubscription({ name: "w1-sub", topic: "w1", start: { kind: "earliest" } });
  const batch = () => Array.from({ length: BATCH_MESSAGES }, () => ({ data: new Uint8Array(PAYLOAD_BYTES).fill(7) }));
  const cpuMicros: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const inFlight = new Set<Promise<void>>();
    let sent = 0;
    const start = process.cpuUsage();
    while (sent < perRound) {
      while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
      const p: Promise<void> = broker.publish("w1", batch()).then(() => {
        inFlight.delete(p);
      });
      inFlight.add(p);
      sent += BATCH_MESSAGES;
    }
    await Promise.all(inFlight);
    const used = process.cpuUsage(start);
    cpuMicros.push((used.user + used.system) / sent);
  }
  cpuMicros.sort((a, b) => a - b);
  const at = (q: number) => (cpuMicros[Math.floor(cpuMicros.length * q)] ?? Number.NaN).toFixed(2);
  console.log(
    `core publish, durability ${durability}: CPU per message min ${at(0)} µs, p25 ${at(0.25)}, median ${at(0.5)} (${rounds} rounds of ${perRound})`,
  );
} finally {
  await broker.close();
  await store.close();
  removeDir(dir);
}
