/**
 * Where the backlog's memory goes: fills a backlog of 1 KiB messages (a stalled consumer, as the BL
 * row does) into a broker child started like `npm start`, then prints the broker's RssAnon and its
 * own view (V8 heap, external, array buffers: prom-client's default metrics) at each step, and
 * again after a pause (is it flat?).
 *
 *   node --import tsx bench/tools/backlog-memory.ts [--messages 1000000] [--step 200000] [--idle-s 5]
 *
 * With BENCH_BROKER_NODE_FLAGS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp/x" the broker
 * writes a heap snapshot when sent SIGUSR2; the tool sends it at the end when `--snapshot` is given.
 * With `--drain`, one consumer then drains the backlog (memory every `--step`); `--smaps` lists the
 * broker's largest anonymous mappings.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { benchParams } from "../lib/cli.js";
import { readRssAnonKib, readRssKib } from "../lib/proc.js";
import { makeTempDir } from "../lib/tempdir.js";
import { Deadline, sleepMs } from "../lib/time.js";
import { startSwitchyard } from "../targets/switchyard.js";
import { batchOptions, publishMessages, startCounter } from "../workloads/common.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    step: { type: "string", default: "200000" },
    "idle-s": { type: "string", default: "5" },
    snapshot: { type: "boolean", default: false },
    smaps: { type: "boolean", default: false },
    drain: { type: "boolean", default: false },
  },
});
const total = Number(values.messages);
const step = Number(values.step);
const mib = (kib: number | null) => (kib === null ? "n/a" : (kib / 1024).toFixed(1));

const target = await startSwitchyard(makeTempDir("backlog-memory"));

/** The broker's own view of its memory, from its /metrics (prom-client's default metrics), in MiB. */
async function brokerView(): Promise<string> {
  const text = await (await fetch(target.metricsUrl ?? "")).text();
  const value = (name: string) => {
    let sum = 0;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
    return (sum / 1024 / 1024).toFixed(1);
  };
  return [
    `heap used ${value("nodejs_heap_size_used_bytes")}`,
    `heap total ${value("nodejs_heap_size_total_bytes")}`,
    `external ${value("nodejs_external_memory_bytes")}`,
  ].join(", ");
}

/** The largest anonymous mappings of the broker (from /proc/PID/smaps), resident KiB each. */
function topAnonMappings(pid: number, top = 10): string[] {
  const blocks = readFileSync(`/proc/${pid}/smaps`, "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  const rows = blocks.map((b) => {
    const [head = ""] = b.split("\n");
    const [range = "", , , , , name = "[anon]"] = head.trim().split(/\s+/);
    const [start, end] = range.split("-").map((h) => Number.parseInt(h, 16));
    const anon = Number(/^Anonymous:\s+(\d+)/m.exec(b)?.[1] ?? 0);
    return { anon, name, sizeKib: ((end ?? 0) - (start ?? 0)) / 1024 };
  });
  const total = rows.reduce((a, r) => a + r.anon, 0);
  rows.sort((a, b) => b.anon - a.anon);
  return [
    `anonymous total ${total} KiB in ${rows.filter((r) => r.anon > 0).length} mappings; largest:`,
    ...rows.slice(0, top).map((r) => `  ${String(r.anon).padStart(8)} KiB of ${r.sizeKib} KiB ${r.name}`),
  ];
}

async function line(label: string): Promise<void> {
  const pid = target.brokerPid;
  const proc = `rss ${mib(readRssKib(pid))}, anon ${mib(readRssAnonKib(pid))}`;
  console.log(`${label.padEnd(18)} ${proc}, ${await brokerView()} (MiB)`);
}

/** Asks the broker for a heap snapshot (see the module comment) and gives it time to write it. */
async function snapshot(): Promise<void> {
  process.kill(target.brokerPid, "SIGUSR2");
  await sleepMs(15_000);
  await line("after snapshot");
}

try {
  await target.createTopic("backlog", { subscriptions: 1 });
  const stalled = await target.consumer("backlog", 0);
  await line("empty");
  const params = benchParams(false);
  for (let done = 0; done < total; done += step) {
    const count = Math.min(step, total - done);
    await publishMessages(target, "backlog", {
      count,
      sizeBytes: 1024,
      batch: batchOptions(params),
      deadline: new Deadline(600_000),
      firstIndex: done,
    });
    await line(`${done + count} queued`);
  }
  await sleepMs(Number(values["idle-s"]) * 1000);
  await line(`idle ${values["idle-s"]} s`);
  await stalled.close();
  if (values.drain) {
    // One consumer drains the backlog (as the BL row does after its restart); memory every `step`.
    const counter = await startCounter(target, "backlog", 0, total);
    const deadline = new Deadline(600_000);
    for (let next = step; counter.seen.distinct < total && !deadline.expired; ) {
      await sleepMs(100);
      if (counter.seen.distinct >= next) {
        await line(`${counter.seen.distinct} drained`);
        next += step;
      }
    }
    await line("drained");
    if (values.smaps) for (const l of topAnonMappings(target.brokerPid)) console.log(l);
    if (values.snapshot) await snapshot();
    await counter.consumer.close();
    await sleepMs(Number(values["idle-s"]) * 1000);
    await line(`idle ${values["idle-s"]} s`);
  }
  if (values.smaps) for (const l of topAnonMappings(target.brokerPid)) console.log(l);
  if (values.snapshot && !values.drain) await snapshot();
} finally {
  await target.stop();
}
