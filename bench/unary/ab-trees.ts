/**
 * A/B of the broker's CPU per unary call between source trees (git worktrees), in alternating
 * rounds: each round starts each tree's broker (its own `bin/switchyard.js`, so its own bundle) on
 * a fresh data dir, drives 1 KiB Publish calls with h2load (4 × 64) per protocol, and reads the
 * broker's CPU from /proc: the whole process and its main thread. Prints each run, then per tree
 * the medians and, against the first tree, the median of the within-round ratios.
 *
 *   node --import tsx bench/unary/ab-trees.ts --trees /work/wt/x-base,/work/wt/x \
 *     [--rounds 4] [--calls 30000] [--protocols grpc,connect] [--durability flush] [--deadline-ms N]
 *     [--auth basic|bearer] [-- broker args]
 *
 * `--auth basic|bearer` turns auth on (a config file with an admin user for the setup and a
 * publisher of topic `u1` only, whose HTTP Basic password or bearer token every call sends), for
 * every tree or, with `--auth-trees 1,3`, for those (0-based; a tree may be listed twice in
 * `--trees` to compare it with auth on and off).
 *
 * A tree given as `DIR@FLAGS` starts its broker with those node flags (to A/B a V8 flag on one tree).
 * BENCH_BROKER_NODE_FLAGS (e.g. `--cpu-prof --cpu-prof-dir=D`) goes to every broker.
 * CPU per call is the steadier number on a shared machine (calls/s follows the disk and the load).
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { testServeArgs } from "../../test/helpers/spawn-cli.js";
import { brokerNodeFlags } from "../lib/broker-process.js";
import { trackChild } from "../lib/children.js";
import { readCpuMs } from "../lib/proc.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";
import { withTimeout } from "../lib/time.js";
import { runCommand } from "../peers/process.js";
import { UNARY_TOPIC, writeBodies } from "./unary-bench.js";

const { values, positionals } = parseArgs({
  options: {
    trees: { type: "string" },
    rounds: { type: "string", default: "4" },
    calls: { type: "string", default: "30000" },
    protocols: { type: "string", default: "grpc,connect" },
    durability: { type: "string", default: "flush" },
    /** Send a deadline with every call (`grpc-timeout` / `connect-timeout-ms`), in ms. */
    "deadline-ms": { type: "string" },
    /** Auth on: every call sends the publisher's `basic` password or its `bearer` token. */
    auth: { type: "string" },
    "auth-trees": { type: "string" },
  },
  allowPositionals: true,
});
const trees = (values.trees ?? "").split(",").filter((t) => t !== "");
if (trees.length === 0) throw new Error("--trees A,B,... is required");
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const protocols = (values.protocols ?? "").split(",") as ("grpc" | "connect")[];
const auth = values.auth;
if (auth !== undefined && auth !== "basic" && auth !== "bearer") throw new Error("--auth is basic or bearer");
const authTrees = values["auth-trees"]?.split(",").map(Number);
/** Whether tree `t` runs with auth on. */
const authOn = (t: number) => auth !== undefined && (authTrees === undefined || authTrees.includes(t));

/** With `--auth`: the users config, and the Authorization header values of the setup and of the calls. */
function authFiles(dir: string): { configFile: string; admin: string; calls: string } | undefined {
  if (auth === undefined) return undefined;
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const configFile = join(dir, "users.json");
  const users = [
    { name: "bench-admin", password: "bench-admin-pw", roles: ["admin"], topics: ["*"] },
    {
      name: "bench-pub",
      password: "bench-pub-pw",
      tokens: ["tok_bench_pub"],
      roles: ["publisher"],
      topics: [UNARY_TOPIC],
    },
  ];
  writeFileSync(configFile, JSON.stringify({ users }));
  const calls = auth === "basic" ? basic("bench-pub", "bench-pub-pw") : "Bearer tok_bench_pub";
  return { configFile, admin: basic("bench-admin", "bench-admin-pw"), calls };
}

/** CPU (user + system) of the process's main thread (the task whose id is the pid), in ms (100 ticks/s). */
function mainThreadCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
}

async function startBroker(treeSpec: string, dataDir: string, withAuth: boolean) {
  const authed = withAuth ? authSetup : undefined;
  // `DIR@FLAGS`: node flags for this tree's broker only (space-separated), e.g. to A/B a V8 flag.
  const [tree = "", treeFlags = ""] = treeSpec.split("@");
  const args = testServeArgs(dataDir).map((a) => (a === "info" ? "warn" : a));
  const child = spawn(
    process.execPath,
    [
      ...brokerNodeFlags(),
      ...treeFlags.split(" ").filter((f) => f !== ""),
      "bin/switchyard.js",
      ...args,
      "--host",
      "127.0.0.1",
      "--durability",
      values.durability ?? "flush",
      ...(authed ? ["--config", authed.configFile] : []),
      ...positionals,
    ],
    { cwd: tree, stdio: ["ignore", "pipe", "inherit"] },
  );
  trackChild(child);
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    lines.on("line", (line) => {
      const m = /^switchyard ready (\{.*\})$/.exec(line);
      if (m) resolve(JSON.parse(m[1] as string) as Record<string, string>);
    });
    void exited.then(() => reject(new Error(`broker of ${tree} exited before it was ready`)));
  });
  const addresses = await withTimeout(ready, 60_000, "broker start");
  const baseUrl = `http://${addresses.rpc}`;
  const post = async (method: string, body: unknown) => {
    const res = await fetch(`${baseUrl}/switchyard.v1.AdminService/${method}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(authed ? { authorization: authed.admin } : {}) },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method}: HTTP ${res.status}`);
    return (await res.json()) as { topics?: { lastSeq?: string }[] };
  };
  await post("CreateTopic", { name: UNARY_TOPIC, queue: true });
  // h2load counts a gRPC error (HTTP 200) as a success: the runs check the messages stored.
  const stored = async () => Number((await post("GetStats", { topics: [UNARY_TOPIC] })).topics?.[0]?.lastSeq ?? 0);
  const stop = async () => {
    child.kill("SIGTERM");
    await exited;
  };
  return { pid: child.pid as number, baseUrl, stop, stored };
}

async function h2load(
  url: string,
  body: string,
  protocol: "grpc" | "connect",
  n: number,
  authed: ReturnType<typeof authFiles>,
): Promise<number> {
  const contentType = protocol === "grpc" ? "application/grpc" : "application/proto";
  const args = ["-n", String(n), "-c", "4", "-m", "64", "-d", body, "-H", `content-type: ${contentType}`];
  if (protocol === "grpc") args.push("-H", "te: trailers");
  if (authed) args.push("-H", `authorization: ${authed.calls}`);
  const deadline = values["deadline-ms"];
  if (deadline !== undefined) {
    args.push("-H", protocol === "grpc" ? `grpc-timeout: ${deadline}m` : `connect-timeout-ms: ${deadline}`);
  }
  const res = await runCommand("h2load", [...args, `${url}/switchyard.v1.PublisherService/Publish`], {
    timeoutMs: 300_000,
  });
  const rate = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(res.output);
  const done = /(\d+) succeeded, (\d+) failed/.exec(res.output);
  if (!rate || !done || Number(done[1]) !== n) throw new Error(`h2load: ${res.output.slice(-300)}`);
  return Number(rate[1]);
}

interface Run {
  round: number;
  tree: number;
  protocol: string;
  callsPerSec: number;
  usPerCall: number;
  mainUsPerCall: number;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const dir = makeTempDir("ab");
const bodies = writeBodies(dir);
const authSetup = authFiles(dir);
const runs: Run[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order too, so neither tree always runs first in a round.
    const order = trees.map((_, i) => i);
    if (round % 2 === 0) order.reverse();
    for (const t of order) {
      const broker = await startBroker(trees[t] as string, join(dir, `r${round}-t${t}`), authOn(t));
      const authed = authOn(t) ? authSetup : undefined;
      try {
        for (const protocol of protocols) {
          await h2load(broker.baseUrl, bodies[protocol], protocol, 3_000, authed);
          const cpu0 = readCpuMs(broker.pid) ?? 0;
          const main0 = mainThreadCpuMs(broker.pid);
          const callsPerSec = await h2load(broker.baseUrl, bodies[protocol], protocol, calls, authed);
          const cpu = (readCpuMs(broker.pid) ?? 0) - cpu0;
          const main = mainThreadCpuMs(broker.pid) - main0;
          const storedNow = await broker.stored();
          if (storedNow !== (protocols.indexOf(protocol) + 1) * (calls + 3_000)) {
            throw new Error(`${storedNow} messages stored after the ${protocol} run: some calls failed`);
          }
          const run = {
            round,
            tree: t,
            protocol,
            callsPerSec,
            usPerCall: (cpu * 1000) / calls,
            mainUsPerCall: (main * 1000) / calls,
          };
          runs.push(run);
          console.log(
            `round ${round} tree ${t} ${protocol}: ${Math.round(callsPerSec)} calls/s, ${run.usPerCall.toFixed(1)} µs/call (main ${run.mainUsPerCall.toFixed(1)})`,
          );
        }
      } finally {
        await broker.stop();
      }
    }
  }
} finally {
  removeDir(dir);
}
for (const protocol of protocols) {
  for (let t = 0; t < trees.length; t++) {
    const rs = runs.filter((r) => r.tree === t && r.protocol === protocol);
    const ratio = (pick: (r: Run) => number) =>
      median(
        rs.map((r) => {
          const a = runs.find((x) => x.tree === 0 && x.round === r.round && x.protocol === protocol) as Run;
          return pick(r) / pick(a);
        }),
      ).toFixed(3);
    console.log(
      `${protocol} tree ${t} (${trees[t]}${authOn(t) ? `, auth ${auth}` : ""}): ${Math.round(median(rs.map((r) => r.callsPerSec)))} calls/s, ` +
        `${median(rs.map((r) => r.usPerCall)).toFixed(1)} µs/call, main ${median(rs.map((r) => r.mainUsPerCall)).toFixed(1)}` +
        (t === 0
          ? ""
          : `; ÷ tree 0 within rounds: cpu ${ratio((r) => r.usPerCall)}, main ${ratio((r) => r.mainUsPerCall)}, calls/s ${ratio((r) => r.callsPerSec)}`),
    );
  }
}
