/**
 * W1 unary: one durable Publish per call (1 KiB), driven by h2load (Debian `nghttp2-client`,
 * 4 connections × 64 streams) over gRPC and over the Connect protocol, against
 *   - Switchyard (the lean path, the default), Switchyard with `--lean-rpc off` (connect-node), and
 *     Switchyard with `--durability none` (the RPC path's ceiling with the disk out of the way),
 *   - an @grpc/grpc-js server and a bare `node:http2` server that answer a constant
 *     PublishResponse (bench/unary/constant-server.ts),
 * all started here, in the same run, one after the other, `rounds` times interleaved. Reported per
 * target and protocol: calls/s and server CPU µs per call (utime + stime from /proc), medians over
 * the rounds, and Switchyard ÷ reference within each round (median). Every Switchyard publish is
 * checked stored (the topic's last seq), since h2load counts a gRPC error (HTTP 200) as a success.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { create, toBinary } from "@bufbuild/protobuf";
import { PublishRequestSchema } from "../../gen/switchyard/v1/publisher_pb.js";
import { ROOT } from "../../test/helpers/spawn-cli.js";
import { startBrokerProcess } from "../lib/broker-process.js";
import { trackChild } from "../lib/children.js";
import { readCpuMs } from "../lib/proc.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";
import { withTimeout } from "../lib/time.js";
import { runCommand } from "../peers/process.js";

/** The `--only` id of this workload. */
export const UNARY_WORKLOAD_ID = "W1U";

/** One measured h2load run. */
export interface UnaryRow {
  round: number;
  target: string;
  protocol: "grpc" | "connect";
  calls: number;
  callsPerSec: number;
  /** Server CPU (user + system) per call, in µs. */
  cpuUsPerCall: number;
  /** Calls h2load saw fail (non-2xx, errors, timeouts). */
  failed: number;
}

/** A server the unary bench (and bench/tools/client-cost.ts) calls: a child process on loopback. */
export interface UnaryTarget {
  name: string;
  pid: number;
  baseUrl: string;
  protocols: readonly ("grpc" | "connect")[];
  /** Messages stored so far (Switchyard only), to check that every call published. */
  stored?: () => Promise<number>;
  stop(): Promise<void>;
}

/** The topic the unary bench publishes to on Switchyard (created by {@link startSwitchyard}). */
export const UNARY_TOPIC = "u1";
const PATH = "/switchyard.v1.PublisherService/Publish";

/**
 * Starts the broker (`--lean-rpc on|off`, `--durability`, then `args`) with a queue topic `u1`
 * for the calls.
 */
export async function startSwitchyard(
  dataDir: string,
  lean: boolean,
  durability = "flush",
  args: readonly string[] = [],
): Promise<UnaryTarget> {
  const broker = await startBrokerProcess(dataDir, [
    "--lean-rpc",
    lean ? "on" : "off",
    "--durability",
    durability,
    ...args,
  ]);
  const post = async (method: string, body: unknown) => {
    const res = await fetch(`${broker.baseUrl}/switchyard.v1.${method}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as Record<string, unknown>;
  };
  await post("AdminService/CreateTopic", { name: UNARY_TOPIC, queue: true });
  return {
    name: `switchyard${lean ? "" : " --lean-rpc off"}${durability === "flush" ? "" : ` --durability ${durability}`}`,
    pid: broker.pid,
    baseUrl: broker.baseUrl,
    protocols: ["grpc", "connect"],
    async stored() {
      const stats = await post("AdminService/GetStats", { topics: [UNARY_TOPIC] });
      const topics = stats.topics as { lastSeq?: string }[] | undefined;
      return Number(topics?.[0]?.lastSeq ?? 0);
    },
    stop: () => broker.stop(),
  };
}

/**
 * Starts a constant server of bench/unary/constant-server.ts (`grpc-js` or `bare`), with `args`
 * (the switches of `bare`) after the kind.
 */
export async function startConstant(kind: "grpc-js" | "bare", args: readonly string[] = []): Promise<UnaryTarget> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/unary/constant-server.ts", kind, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  trackChild(child);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await withTimeout(
      new Promise<number>((resolve, reject) => {
        createInterface({ input: child.stdout }).on("line", (line) => {
          const m = /^port (\d+)$/.exec(line);
          if (m) resolve(Number(m[1]));
        });
        void exited.then(() => reject(new Error(`${kind} constant server exited`)));
      }),
      30_000,
      `${kind} constant server start`,
    );
    return {
      name: kind === "grpc-js" ? "grpc-js constant" : "node:http2 constant",
      pid: child.pid as number,
      baseUrl: `http://127.0.0.1:${port}`,
      protocols: kind === "grpc-js" ? ["grpc"] : ["grpc", "connect"],
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The request bodies h2load sends, as files. */
export interface Bodies {
  grpc: string;
  connect: string;
}

/** Writes a 1 KiB PublishRequest to topic `u1` into `dir`, as a gRPC envelope and as a bare message. */
export function writeBodies(dir: string): Bodies {
  const data = Buffer.alloc(1024, 0x61);
  const message = toBinary(
    PublishRequestSchema,
    create(PublishRequestSchema, { topic: UNARY_TOPIC, messages: [{ data }] }),
  );
  const envelope = Buffer.alloc(5 + message.length);
  envelope.writeUInt32BE(message.length, 1);
  envelope.set(message, 5);
  const bodies = { grpc: join(dir, "publish.grpc"), connect: join(dir, "publish.proto") };
  writeFileSync(bodies.grpc, envelope);
  writeFileSync(bodies.connect, message);
  return bodies;
}

/** Runs h2load once; returns calls/s and failures (throws when h2load prints no result). */
async function h2load(url: string, body: string, protocol: "grpc" | "connect", calls: number) {
  const contentType = protocol === "grpc" ? "application/grpc" : "application/proto";
  const args = ["-n", String(calls), "-c", "4", "-m", "64", "-d", body, "-H", `content-type: ${contentType}`];
  if (protocol === "grpc") args.push("-H", "te: trailers");
  const res = await runCommand("h2load", [...args, `${url}${PATH}`], { timeoutMs: 300_000 });
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(res.output);
  const done = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(
    res.output,
  );
  if (!rate || !done) throw new Error(`h2load printed no result: ${res.output.slice(-300)}`);
  return { callsPerSec: Number(rate[1]), failed: calls - Number(done[1]) };
}

async function measure(t: UnaryTarget, bodies: Bodies, calls: number, round: number, log: (l: string) => void) {
  const rows: UnaryRow[] = [];
  for (const protocol of t.protocols) {
    await h2load(t.baseUrl, bodies[protocol], protocol, Math.min(2_000, calls)); // warm-up (JIT), untimed
    const before = await t.stored?.();
    const cpu0 = readCpuMs(t.pid) ?? 0;
    const run = await h2load(t.baseUrl, bodies[protocol], protocol, calls);
    const cpuMs = (readCpuMs(t.pid) ?? 0) - cpu0;
    let failed = run.failed;
    if (t.stored && before !== undefined) failed = Math.max(failed, calls - ((await t.stored()) - before));
    const row: UnaryRow = {
      round,
      target: t.name,
      protocol,
      calls,
      callsPerSec: run.callsPerSec,
      cpuUsPerCall: (cpuMs * 1000) / calls,
      failed,
    };
    log(
      `  ${t.name} ${protocol}: ${Math.round(row.callsPerSec)} calls/s, ${Math.round(row.cpuUsPerCall)} µs CPU/call${failed ? `, ${failed} failed` : ""}`,
    );
    rows.push(row);
  }
  return rows;
}

/** Runs W1 unary; returns every run's rows and a Markdown section (medians and ratios). */
export async function runUnaryBench(options: {
  quick: boolean;
  log: (l: string) => void;
}): Promise<{ rows: UnaryRow[]; markdown: string }> {
  const check = await runCommand("h2load", ["--version"], { timeoutMs: 10_000 }).catch(() => undefined);
  if (check?.code !== 0) {
    const note = "skip W1 unary: h2load is missing (apt-get install -y nghttp2-client, or bash bench/peers/install.sh)";
    options.log(note);
    return { rows: [], markdown: `\n### W1 unary\n\n${note}\n` };
  }
  const calls = options.quick ? 2_000 : 20_000;
  const rounds = options.quick ? 1 : 3;
  const dir = makeTempDir("unary");
  const rows: UnaryRow[] = [];
  const notes: string[] = [];
  try {
    const bodies = writeBodies(dir);
    const starters: [string, () => Promise<UnaryTarget>][] = [
      ["switchyard", () => startSwitchyard(join(dir, `sy-${rows.length}`), true)],
      ["switchyard --lean-rpc off", () => startSwitchyard(join(dir, `sy-off-${rows.length}`), false)],
      // The RPC path's ceiling with the disk out of the way (not durable; for comparison only).
      ["switchyard --durability none", () => startSwitchyard(join(dir, `sy-none-${rows.length}`), true, "none")],
      ["grpc-js constant", () => startConstant("grpc-js")],
      ["node:http2 constant", () => startConstant("bare")],
    ];
    for (let round = 1; round <= rounds; round++) {
      for (const [name, start] of starters) {
        options.log(`[W1 unary round ${round}] ${name}`);
        let t: UnaryTarget | undefined;
        try {
          t = await start();
          rows.push(...(await measure(t, bodies, calls, round, options.log)));
        } catch (e) {
          notes.push(`${name} round ${round}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
          options.log(`  failed: ${notes[notes.length - 1]}`);
        } finally {
          await t?.stop().catch(() => undefined);
        }
      }
    }
  } finally {
    removeDir(dir);
  }
  return { rows, markdown: renderUnary(rows, calls, rounds, notes) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function renderUnary(rows: readonly UnaryRow[], calls: number, rounds: number, notes: readonly string[]): string {
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  const out = [
    `\n### W1 unary: ${calls.toLocaleString("en-US")} Publish calls of 1 KiB per run, h2load -c 4 -m 64, ${rounds} round(s), medians\n`,
    "| target | protocol | calls/s | server CPU µs/call | failed |",
    "| --- | --- | ---: | ---: | ---: |",
  ];
  const keys = [...new Set(rows.map((r) => `${r.target}|${r.protocol}`))];
  for (const key of keys) {
    const [target, protocol] = key.split("|") as [string, string];
    const rs = rows.filter((r) => r.target === target && r.protocol === protocol);
    out.push(
      `| ${target} | ${protocol} | ${fmt(median(rs.map((r) => r.callsPerSec)))} | ${fmt(median(rs.map((r) => r.cpuUsPerCall)))} | ${rs.reduce((n, r) => n + r.failed, 0)} |`,
    );
  }
  out.push("", "Switchyard (durable Publish) ÷ reference, calls/s within each round, median:", "");
  for (const protocol of ["grpc", "connect"] as const) {
    for (const ref of ["grpc-js constant", "node:http2 constant", "switchyard --lean-rpc off"]) {
      const ratios: number[] = [];
      for (let round = 1; round <= rounds; round++) {
        const a = rows.find((r) => r.round === round && r.target === "switchyard" && r.protocol === protocol);
        // grpc-js speaks gRPC only: Connect calls are set against its gRPC row.
        const refProtocol = ref === "grpc-js constant" ? "grpc" : protocol;
        const b = rows.find((r) => r.round === round && r.target === ref && r.protocol === refProtocol);
        if (a && b && b.callsPerSec > 0) ratios.push(a.callsPerSec / b.callsPerSec);
      }
      if (ratios.length > 0) out.push(`- ${protocol}: switchyard ÷ ${ref} = ${median(ratios).toFixed(2)}`);
    }
  }
  for (const n of notes) out.push(`\nFailed: ${n}`);
  return `${out.join("\n")}\n`;
}
