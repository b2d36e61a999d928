/**
 * Reads /proc to find what a peer left behind: running (non-zombie) processes by command-line
 * marker or by parent, so they can be killed by PID. Linux only (the benchmark machine).
 */

import { readdirSync, readFileSync } from "node:fs";

/** Running (non-zombie) processes whose command line contains `marker`: leftovers of a peer instance. */
export function processesMatching(marker: string): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid || !isRunning(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").includes(marker)) found.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Live (non-zombie) child processes of `pid`. */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (stat !== undefined && stat.ppid === pid && stat.state !== "Z") found.push(Number(entry));
  }
  return found;
}

/** True if `pid` exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

function procStat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0] ?? "", ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** SIGKILLs each pid that is still running (used for leftovers we identified as ours). */
export function killIfRunning(pids: readonly number[]): number[] {
  const killed: number[] = [];
  for (const pid of pids) {
    if (!isRunning(pid)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return killed;
}
