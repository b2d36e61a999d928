/**
 * The okQ bridge benchmark: durable pushes (QLPUSH) and a QRPOP+QACK drain against a Switchyard
 * broker process with `--okq-port`, and the same load as RPUSH/LPOP against Redis itself with
 * `appendfsync always` (the closest Redis gets to "answered after fsync"), in the same run.
 * Pushes are driven twice: by our pipelined Node client and by `redis-benchmark -P 16` when it is
 * installed. `--quick` is tiny and needs neither redis-server nor redis-benchmark.
 */
import { join } from "node:path";
import { startBrokerProcess } from "../lib/broker-process.js";
import { readCpuMs } from "../lib/proc.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";
import {
  canConnect,
  freePort,
  makePeerDir,
  type PeerProcess,
  removePeerDir,
  runCommand,
  spawnPeer,
  waitUntil,
} from "../peers/process.js";
import { drainLoad, type LoadDialect, OKQ_DIALECT, pushLoad, REDIS_LIST_DIALECT } from "./resp-load.js";
import { formatCounterDiff, formatThreadCpu, scrapeCounters, threadCpuMs } from "./thread-cpu.js";

/** One measured row. */
export interface OkqRow {
  target: string;
  phase: string;
  messages: number;
  perSecond: number;
  errors: number;
  /** The target process's CPU (user + system, all threads) per message of the phase, in µs; null if unreadable. */
  cpuMicrosPerMessage: number | null;
}

/** Sizes of a run. */
export interface OkqBenchParams {
  messages: number;
  connections: number;
  pipeline: number;
  payloadBytes: number;
}

export function okqBenchParams(quick: boolean): OkqBenchParams {
  return { messages: quick ? 2_000 : 100_000, connections: quick ? 4 : 50, pipeline: 16, payloadBytes: 1024 };
}

interface RespTarget {
  name: string;
  host: string;
  port: number;
  /** The server process (its CPU is read from /proc per phase). */
  pid: number;
  /** Where the server says what it did (Switchyard's RPC port), if it can. */
  metricsUrl?: string;
  dialect: LoadDialect;
  /** The redis-benchmark command pushing one event (with `__rand_int__`). */
  benchmarkCommand: string[];
  stop(): Promise<void>;
}

async function startSwitchyard(dataDir: string): Promise<RespTarget> {
  const broker = await startBrokerProcess(dataDir, ["--okq-port", "0"]);
  const [host, port] = (broker.addresses.okq ?? "").split(":");
  if (!port) {
    await broker.stop();
    throw new Error("the broker printed no okq address");
  }
  return {
    name: "switchyard okq",
    host: host as string,
    port: Number(port),
    pid: broker.pid,
    metricsUrl: `${broker.baseUrl}/metrics`,
    dialect: OKQ_DIALECT,
    // Two random numbers per id: redis-benchmark stops at the first error reply, and one
    // __rand_int__ (at most 2^31 values) repeats within 100,000 pushes (a duplicate event).
    benchmarkCommand: ["QLPUSH", "rb", "__rand_int__-__rand_int__"],
    stop: () => broker.stop(),
  };
}

async function startRedisAlways(dataDir: string): Promise<RespTarget> {
  const dir = await makePeerDir(dataDir, "redis-okq");
  const port = await freePort();
  let proc: PeerProcess | undefined;
  try {
    proc = await spawnPeer({
      peer: "redis-always",
      command: "redis-server",
      args: ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes"].concat([
        "--appendfsync",
        "always",
        "--save",
        "",
        "--daemonize",
        "no",
        "--logfile",
        "",
      ]),
      cwd: dir,
      logFile: join(dir, "redis.log"),
    });
    await waitUntil("redis-always", proc, 15_000, () => canConnect(port));
  } catch (e) {
    await proc?.stop().catch(() => undefined);
    await removePeerDir(dir);
    throw e;
  }
  const started = proc;
  return {
    name: "redis appendfsync always",
    host: "127.0.0.1",
    port,
    pid: started.pid,
    dialect: REDIS_LIST_DIALECT,
    benchmarkCommand: ["RPUSH", "rb"],
    async stop() {
      await started.stop();
      await removePeerDir(dir);
    },
  };
}

/** `redis-benchmark -P 16` pushes; requests per second, or undefined when the tool is missing. */
async function redisBenchmark(t: RespTarget, p: OkqBenchParams, log: (l: string) => void): Promise<number | undefined> {
  const payload = "x".repeat(p.payloadBytes);
  const args = ["-h", t.host, "-p", String(t.port), "-c", String(p.connections), "-n", String(p.messages)].concat([
    "-P",
    String(p.pipeline),
    "-r",
    "1000000000",
    "-q",
    ...t.benchmarkCommand,
    payload,
  ]);
  const res = await runCommand("redis-benchmark", args, { timeoutMs: 300_000 }).catch(() => undefined);
  const m = res && /([\d.]+) requests per second/.exec(res.output.split("\r").pop() ?? res.output);
  if (!m) {
    log(`  redis-benchmark: no result (${res ? res.output.slice(-200) : "not installed"})`);
    return undefined;
  }
  return Number(m[1]);
}

async function measure(
  t: RespTarget,
  p: OkqBenchParams,
  options: { quick: boolean; redisBenchmark: boolean; log: (l: string) => void },
): Promise<OkqRow[]> {
  const { quick, log } = options;
  const rows: OkqRow[] = [];
  const base = { host: t.host, port: t.port, dialect: t.dialect, connections: p.connections, pipeline: p.pipeline };
  const payload = Buffer.alloc(p.payloadBytes, 0x78);
  log(`  ${t.name}: ${p.messages} pushes, ${p.connections} connections, pipeline ${p.pipeline}`);
  // OKQ_BENCH_REPEAT=N: push and drain N times on the same server (a warm one after the first),
  // each later pair's rows named with its round; events of round k have ids `e<k>-…`.
  const repeats = Math.max(1, Number(process.env.OKQ_BENCH_REPEAT ?? 1) || 1);
  let cpu = cpuMeter(t.pid);
  for (let k = 1; k <= repeats; k++) {
    const round = k === 1 ? "" : ` (round ${k})`;
    cpu = cpuMeter(t.pid);
    const idPrefix = k === 1 ? "e" : `e${k}-`;
    const push = await pushLoad({ ...base, queue: "okq-bench", total: p.messages, payload, idPrefix });
    rows.push({
      target: t.name,
      phase: `push (node client)${round}`,
      ...pick(push),
      cpuMicrosPerMessage: cpu(push.messages),
    });
    cpu = cpuMeter(t.pid);
    const threads = process.env.OKQ_BENCH_THREADS === "1" ? threadCpuMs(t.pid) : undefined;
    const counters = threads ? await scrapeCounters(t.metricsUrl) : undefined;
    if (threads) log(`  drain${round} starts (pid ${t.pid})`); // for a profiler to attach to
    const drain = await drainLoad({ ...base, queue: "okq-bench" });
    if (threads && counters) {
      log(`  drain${round} µs CPU/msg by thread: ${formatThreadCpu(threads, threadCpuMs(t.pid), drain.messages)}`);
      const moved = formatCounterDiff(counters, await scrapeCounters(t.metricsUrl), DRAIN_COUNTERS);
      for (const line of moved) log(`    ${line}`);
    }
    rows.push({
      target: t.name,
      phase: `${t.dialect.ack("q", "i") ? "QRPOP+QACK drain" : "LPOP drain"}${round}`,
      ...pick(drain),
      cpuMicrosPerMessage: cpu(drain.messages),
    });
  }
  if (!quick && options.redisBenchmark) {
    cpu = cpuMeter(t.pid);
    const rps = await redisBenchmark(t, p, log);
    if (rps !== undefined)
      rows.push({
        target: t.name,
        phase: "push (redis-benchmark -P 16)",
        messages: p.messages,
        perSecond: rps,
        errors: 0,
        cpuMicrosPerMessage: cpu(p.messages),
      });
  }
  for (const r of rows)
    log(
      `  ${r.phase}: ${Math.round(r.perSecond)} msg/s, ${r.errors} errors, ${formatCpu(r.cpuMicrosPerMessage)} µs CPU/msg`,
    );
  return rows;
}

/** The broker's counters logged over the drain with OKQ_BENCH_THREADS=1: its calls and its store's commits. */
const DRAIN_COUNTERS = /rpc_requests_total|store|commit|sync|gc/;

/** Starts counting a process's CPU time; the returned function gives µs per message since then. */
function cpuMeter(pid: number): (messages: number) => number | null {
  const startMs = readCpuMs(pid);
  return (messages) => {
    const endMs = readCpuMs(pid);
    if (startMs === null || endMs === null || messages <= 0) return null;
    return ((endMs - startMs) * 1000) / messages;
  };
}

function formatCpu(us: number | null): string {
  return us === null ? "n/a" : us.toFixed(1);
}

function pick(r: { messages: number; perSecond: number; errors: number }) {
  return { messages: r.messages, perSecond: r.perSecond, errors: r.errors };
}

/** Runs the okQ benchmark; returns the rows and a Markdown section. */
export async function runOkqBench(options: {
  quick: boolean;
  /** Also push with `redis-benchmark` (default true; off: the push and drain phases only). */
  redisBenchmark?: boolean;
  /** Measure Redis too (default: unless quick; false: Switchyard only, for A/B runs of the bridge). */
  redis?: boolean;
  log: (l: string) => void;
}): Promise<{ rows: OkqRow[]; markdown: string }> {
  const p = okqBenchParams(options.quick);
  const measureOptions = { quick: options.quick, redisBenchmark: options.redisBenchmark ?? true, log: options.log };
  const rows: OkqRow[] = [];
  const notes: string[] = [];
  const starters: Array<[string, (dir: string) => Promise<RespTarget>]> = [["switchyard", startSwitchyard]];
  if (options.redis ?? !options.quick) starters.push(["redis", startRedisAlways]);
  for (const [name, start] of starters) {
    const dir = makeTempDir(`okq-${name}`);
    let t: RespTarget | undefined;
    try {
      t = await start(dir);
      rows.push(...(await measure(t, p, measureOptions)));
    } catch (e) {
      notes.push(`skip ${name}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
      options.log(`  ${notes[notes.length - 1]}`);
    } finally {
      await t?.stop().catch(() => undefined);
      removeDir(dir);
    }
  }
  return { rows, markdown: renderOkq(rows, p, notes) };
}

function renderOkq(rows: readonly OkqRow[], p: OkqBenchParams, notes: readonly string[]): string {
  const out = [
    `\n### okQ bridge (RESP): ${p.messages} events of ${p.payloadBytes} B, ${p.connections} connections, pipeline ${p.pipeline}\n`,
    "| target | phase | msg/s | µs CPU/msg | errors |",
    "| --- | --- | ---: | ---: | ---: |",
    ...rows.map(
      (r) =>
        `| ${r.target} | ${r.phase} | ${Math.round(r.perSecond).toLocaleString("en-US")} | ${formatCpu(r.cpuMicrosPerMessage)} | ${r.errors} |`,
    ),
  ];
  const sy = rows.filter((r) => r.target.startsWith("switchyard"));
  const rd = rows.filter((r) => r.target.startsWith("redis"));
  for (const [i, r] of sy.entries()) {
    const peer = rd[i];
    if (peer)
      out.push(`\n${r.phase} vs ${peer.phase}: switchyard ÷ redis = ${(r.perSecond / peer.perSecond).toFixed(2)}`);
  }
  for (const n of notes) out.push(`\n${n}`);
  return `${out.join("\n")}\n`;
}
