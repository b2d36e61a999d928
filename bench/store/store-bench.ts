/**
 * The store on its own, in this process (no network, no RPC): LMDB with `--durability flush`,
 * 1 KiB messages. Rows: publish (batches of 100, 8 in flight), lease + ack (batches of 1000, one
 * ack call per batch, the next lease while the ack syncs), fan-out to 8 subscriptions, and a
 * restart with 1,000,000 messages in the log and cursors in the middle: the time to open the
 * store and the time to the first lease. CPU is this process's user + system time per message.
 */
import { performance } from "node:perf_hooks";
import { openLmdbStore, type Store } from "../../src/store/index.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

/** One measured row. */
export interface StoreRow {
  row: string;
  messages: number;
  perSecond: number;
  /** Process CPU (user + system) per message, µs. */
  cpuMicrosPerMessage: number;
  note: string;
}

const T = 1_700_000_000_000;

function topicSettings(name: string) {
  return {
    name,
    queue: false,
    dedupWindowMs: 120_000,
    dedupScope: "window" as const,
    retainAckedMs: 0,
    maxMessages: 0,
    maxBytes: 0,
    maxAgeMs: 0,
    overflow: "reject" as const,
  };
}

function subSettings(name: string, topic: string, start: { kind: "earliest" } | { kind: "seq"; seq: number }) {
  return {
    name,
    topic,
    ackDeadlineMs: 60_000,
    maxDeliveryAttempts: 0,
    deadLetterTopic: "",
    retry: { minBackoffMs: 0, maxBackoffMs: 0 },
    start,
    filter: {},
    ordered: false,
    paused: false,
    expireAfterIdleMs: 0,
    push: null,
  };
}

const payload = Buffer.alloc(1024, 7);
const records = (n: number) =>
  Array.from({ length: n }, () => ({
    id: "",
    data: payload,
    attributes: {},
    priority: 0,
    orderingKey: "",
    deliverAtMs: 0,
    expireAtMs: 0,
  }));

/** Runs `fn` and measures wall time and process CPU. */
async function measure(messages: number, fn: () => Promise<void>): Promise<{ perSecond: number; cpuUs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: Math.round((messages / ms) * 1000), cpuUs: (cpu.user + cpu.system) / messages };
}

/** Publishes `n` messages in batches of 100, `inFlight` batches at a time. */
async function publish(store: Store, topic: string, n: number, inFlight = 8, batch = 100): Promise<void> {
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      const k = Math.min(batch, n - sent);
      sent += k;
      await store.append(topic, records(k), T);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

/** Leases and acks `n` messages of a subscription, 1000 at a time; the next lease overlaps the ack. */
async function drain(store: Store, sub: string, n: number): Promise<void> {
  let got = 0;
  let ack: Promise<unknown> = Promise.resolve();
  while (got < n) {
    const leased = await store.lease(sub, { max: 1000, leaseMs: 60_000, nowMs: T, autoAck: false });
    if (leased.length === 0) {
      await ack;
      continue;
    }
    got += leased.length;
    await ack;
    ack = store.ack(sub, { tokens: leased.map((r) => r.token), messageIds: [] }, T);
  }
  await ack;
}

/** Runs the store benchmark; `quick` shrinks every row. */
export async function runStoreBench(o: { quick: boolean; log: (line: string) => void }): Promise<{
  rows: StoreRow[];
  markdown: string;
}> {
  const n = o.quick ? 2_000 : 100_000;
  const big = o.quick ? 20_000 : 1_000_000;
  const rows: StoreRow[] = [];
  const dir = makeTempDir("store");
  try {
    const store = await openLmdbStore({ path: dir });
    await store.createTopic(topicSettings("q"), T, subSettings("q", "q", { kind: "earliest" }));
    const pub = await measure(n, () => publish(store, "q", n));
    rows.push({
      row: "ST publish",
      messages: n,
      perSecond: pub.perSecond,
      cpuMicrosPerMessage: pub.cpuUs,
      note: "batches of 100, 8 in flight",
    });
    o.log(`store: publish ${pub.perSecond} msg/s`);
    const d = await measure(n, () => drain(store, "q", n));
    rows.push({
      row: "ST lease+ack",
      messages: n,
      perSecond: d.perSecond,
      cpuMicrosPerMessage: d.cpuUs,
      note: "1000 per lease, one ack per lease",
    });
    o.log(`store: lease+ack ${d.perSecond} msg/s`);
    await store.createTopic(topicSettings("f"), T);
    for (let i = 0; i < 8; i++) await store.createSubscription(subSettings(`f${i}`, "f", { kind: "earliest" }), T);
    const fan = Math.max(1, Math.floor(n / 5));
    const f = await measure(fan * 8, async () => {
      await publish(store, "f", fan);
      await Promise.all(Array.from({ length: 8 }, (_, i) => drain(store, `f${i}`, fan)));
    });
    rows.push({
      row: "ST fan-out 8",
      messages: fan * 8,
      perSecond: f.perSecond,
      cpuMicrosPerMessage: f.cpuUs,
      note: `${fan} published, then 8 subscriptions drained at once; deliveries/s`,
    });
    o.log(`store: fan-out ${f.perSecond} deliveries/s`);
    // Restart with a big log: one subscription half drained, one created in the middle.
    await store.createTopic(topicSettings("big"), T, subSettings("big", "big", { kind: "earliest" }));
    await publish(store, "big", big, 8, 1000);
    await drain(store, "big", Math.floor(big * 0.3));
    await store.createSubscription(subSettings("big-mid", "big", { kind: "seq", seq: Math.floor(big * 0.6) }), T);
    while ((await store.sweepRetention(T, 10_000)).more) {} // the background count of big-mid
    await store.close();
    const t0 = performance.now();
    const reopened = await openLmdbStore({ path: dir });
    const openMs = performance.now() - t0;
    const first = await reopened.lease("big", { max: 1000, leaseMs: 60_000, nowMs: T, autoAck: false });
    const firstLeaseMs = performance.now() - t0 - openMs;
    const counters = await reopened.subscriptionCounters("big-mid");
    await reopened.close();
    rows.push({
      row: "ST restart",
      messages: big,
      perSecond: 0,
      cpuMicrosPerMessage: 0,
      note: `open ${openMs.toFixed(1)} ms, first lease (${first.length}) ${firstLeaseMs.toFixed(1)} ms; ${big} in the log, cursors at ${Math.floor(big * 0.3) + 1} and ${Math.floor(big * 0.6)} (backlog ${counters.unacked})`,
    });
    o.log(`store: restart with ${big} messages: open ${openMs.toFixed(1)} ms`);
  } finally {
    removeDir(dir);
  }
  const lines = [
    "\n## The store alone (in process, LMDB, durability flush, 1 KiB)\n",
    "| row | messages | per second | CPU µs/message | notes |",
    "| --- | ---: | ---: | ---: | --- |",
    ...rows.map(
      (r) =>
        `| ${r.row} | ${r.messages.toLocaleString("en-US")} | ${r.perSecond ? r.perSecond.toLocaleString("en-US") : "–"} | ${r.cpuMicrosPerMessage ? r.cpuMicrosPerMessage.toFixed(1) : "–"} | ${r.note} |`,
    ),
    "",
  ];
  return { rows, markdown: lines.join("\n") };
}
