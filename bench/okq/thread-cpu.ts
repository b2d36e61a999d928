/**
 * A process's CPU time by thread, from /proc (Linux): user and system time of the main thread,
 * and of all other threads together (Node 20 leaves every thread named `node`: V8's compiler and
 * GC helpers run mostly in user time, the libuv pool where lmdb-js commits and syncs mostly in
 * system time). With `OKQ_BENCH_THREADS=1`, bench/okq/okq-bench.ts logs the drain's CPU per
 * message this way, to tell the broker's main thread from the rest.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (100 on Linux unless configured otherwise). */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds (user + system) used so far of `pid`'s main thread and other threads, user and system apart; empty when unreadable. */
export function threadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const who = Number(tid) === pid ? "main" : "others";
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const add = (name: string, ticks: number) =>
        out.set(name, (out.get(name) ?? 0) + (ticks * 1000) / TICKS_PER_SECOND);
      add(`${who} user`, Number(fields[11]));
      add(`${who} system`, Number(fields[12]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** `name µs, …` per message between two {@link threadCpuMs} readings, largest first. */
export function formatThreadCpu(before: Map<string, number>, after: Map<string, number>, messages: number): string {
  const rows = [...after].map(([name, ms]) => [name, ((ms - (before.get(name) ?? 0)) * 1000) / messages] as const);
  return rows
    .filter(([, us]) => us > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => `${name} ${us.toFixed(1)}`)
    .join(", ");
}

/** The counters and sums of a Prometheus text page (histogram buckets left out); empty when unreachable. */
export async function scrapeCounters(url: string | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (url === undefined) return out;
  try {
    const text = await (await fetch(url)).text();
    for (const line of text.split("\n")) {
      if (line.startsWith("#") || line.includes("_bucket{")) continue;
      const at = line.lastIndexOf(" ");
      const value = Number(line.slice(at + 1));
      if (at > 0 && Number.isFinite(value)) out.set(line.slice(0, at), value);
    }
  } catch {
    // No metrics: nothing to say.
  }
  return out;
}

/** The series that moved between two {@link scrapeCounters} readings whose name holds `filter`, one per line. */
export function formatCounterDiff(before: Map<string, number>, after: Map<string, number>, filter: RegExp): string[] {
  const lines: string[] = [];
  for (const [name, value] of after) {
    const d = value - (before.get(name) ?? 0);
    if (d !== 0 && filter.test(name)) lines.push(`${Math.round(d * 1000) / 1000} ${name}`);
  }
  return lines;
}
