/**
 * Where a benchmark's broker spends its CPU, by thread, and which system calls it makes: runs the
 * suite (`bench/run.ts` with the arguments given), finds the broker it starts (a descendant of
 * this process running `switchyard.js serve`), samples `/proc/PID/task/TID/stat` every 250 ms, and
 * with `--syscalls` counts the broker's calls of fdatasync, pwrite64, writev, write, futex,
 * epoll_pwait and read with `perf stat` (syscall tracepoints: no ptrace, so the broker runs at
 * its own speed; needs perf and root). At the end it prints CPU per thread over the broker's life
 * (the main thread; threads mostly in user time, V8's compiler and GC helpers; threads mostly in
 * system time, the libuv pool where lmdb-js commits and syncs), and the system calls, per
 * `--messages N` when given (W3: 25,000) and per fdatasync (one per synced LMDB transaction).
 *
 *   node --import tsx bench/tools/broker-threads.ts [--syscalls] [--messages 25000] -- --only W3 --targets switchyard
 *
 * On a machine shared with other benchmarks, compare alternating runs: system calls per
 * transaction are steadier than CPU per message, which moves with how the client's batches form.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const EVENTS = ["fdatasync", "pwrite64", "writev", "write", "futex", "epoll_pwait", "read"];
const TICK_MS = 10;

/** The fields of a /proc stat line after the command name (0: state, 1: ppid, 11/12: utime/stime). */
function statOf(path: string): string[] | undefined {
  try {
    const s = readFileSync(path, "utf8");
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** A process below `root` whose command line runs the broker, if one is up. */
function findBroker(root: number): number | undefined {
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmd.includes("switchyard.js\0serve")) continue;
    for (let p = pid, i = 0; p > 1 && i < 20; i++) {
      const ppid = Number(statOf(`/proc/${p}/stat`)?.[1] ?? 0);
      if (ppid === root) return pid;
      p = ppid;
    }
  }
  return undefined;
}

/** CPU ms (user, system) of each thread of `pid` now. */
function threadTimes(pid: number): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const f = statOf(`/proc/${pid}/task/${tid}/stat`);
    if (f) out.set(tid, [Number(f[11]) * TICK_MS, Number(f[12]) * TICK_MS]);
  }
  return out;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { syscalls: { type: "boolean" }, messages: { type: "string" } },
});
const bench = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...positionals], { stdio: "inherit" });
let broker: number | undefined;
let last = new Map<string, [number, number]>();
let perf: ChildProcess | undefined;
let perfOut = "";
const timer = setInterval(() => {
  broker ??= findBroker(process.pid);
  if (broker === undefined) return;
  if (values.syscalls && perf === undefined) {
    const events = EVENTS.map((e) => `syscalls:sys_enter_${e}`).join(",");
    perf = spawn("perf", ["stat", "-x", ",", "-e", events, "-p", String(broker)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    perf.stderr?.on("data", (d: Buffer) => {
      perfOut += d.toString();
    });
  }
  const now = threadTimes(broker);
  if (now.size > 0) last = now;
}, 250);
const code = await new Promise<number>((resolve) => bench.on("exit", (c) => resolve(c ?? 1)));
clearInterval(timer);
if (perf) {
  perf.kill("SIGINT");
  await new Promise((r) => perf?.on("exit", r));
}
if (broker === undefined) {
  process.stdout.write("broker-threads: no broker was seen\n");
  process.exit(code);
}
const groups: Record<"main" | "user" | "system", [number, number]> = { main: [0, 0], user: [0, 0], system: [0, 0] };
for (const [tid, [u, s]] of last) {
  const g = tid === String(broker) ? groups.main : s > u / 3 ? groups.system : groups.user;
  g[0] += u;
  g[1] += s;
}
process.stdout.write(`\nbroker ${broker}, CPU over its life (ms, user + system):\n`);
process.stdout.write(`  main thread                      ${groups.main[0]} + ${groups.main[1]}\n`);
process.stdout.write(`  other threads, mostly user time  ${groups.user[0]} + ${groups.user[1]}  (V8: compiler, GC)\n`);
process.stdout.write(
  `  other threads, mostly system     ${groups.system[0]} + ${groups.system[1]}  (libuv pool: LMDB)\n`,
);
if (perfOut !== "") {
  const counts = new Map<string, number>();
  for (const line of perfOut.split("\n")) {
    const [n, , event] = line.split(",");
    const m = /sys_enter_(\w+)/.exec(event ?? "");
    if (m && n !== undefined) counts.set(m[1] as string, Number(n));
  }
  const messages = Number(values.messages ?? 0);
  const syncs = counts.get("fdatasync") ?? 0;
  process.stdout.write("system calls (total; per message; per fdatasync):\n");
  for (const e of EVENTS) {
    const n = counts.get(e) ?? 0;
    const perMsg = messages > 0 ? (n / messages).toFixed(3) : "-";
    const perSync = syncs > 0 ? (n / syncs).toFixed(2) : "-";
    process.stdout.write(`  ${e.padEnd(12)} ${String(n).padStart(8)}  ${perMsg.padStart(7)}  ${perSync.padStart(7)}\n`);
  }
}
process.exit(code);
