/**
 * Reads /proc to find what a peer left behind: running (non-zombie) processes by command-line
 * marker or by parent, so they can be killed by PID. Linux only (the benchmark machine).
 */

import { readdirSync, readFileSync } from "node:fs";
import { statFields } from "../lib/proc.js";

/** Pids under /proc for which `keep` is true (the process may vanish meanwhile: `keep` copes). */
function pidsWhere(keep: (pid: number) => boolean): number[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  return entries
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter(keep);
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return ""; // gone meanwhile
  }
}

/** Running (non-zombie) processes whose command line contains `marker`: leftovers of a peer instance. */
export function processesMatching(marker: string): number[] {
  return pidsWhere((pid) => pid !== process.pid && isRunning(pid) && commandLine(pid).includes(marker));
}

/** Live (non-zombie) child processes of `pid`. */
export function childPids(pid: number): number[] {
  return pidsWhere((child) => {
    const fields = statFields(child);
    return fields !== null && Number(fields[1]) === pid && fields[0] !== "Z";
  });
}

/** True if `pid` exists and is not a zombie. */
export function isRunning(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== null && fields[0] !== "Z";
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
