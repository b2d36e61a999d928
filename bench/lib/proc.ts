/**
 * Broker resource sampling from /proc (Linux): CPU time from /proc/<pid>/stat (utime + stime) and
 * memory from /proc/<pid>/status (VmRSS, VmHWM). Every reader returns null when the process is gone
 * or /proc is not readable (another OS, a broker in a container), so callers report "n/a".
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

let clockTicksPerSec: number | undefined;

function ticksPerSec(): number {
  if (clockTicksPerSec === undefined) {
    try {
      clockTicksPerSec = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicksPerSec = 100;
    }
  }
  return clockTicksPerSec;
}

/**
 * The fields of /proc/<pid>/stat after the command name, so index 0 is field 3 (state), 1 is the
 * parent pid, 11 and 12 are utime and stime; null if the process is gone.
 */
export function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces; the fields after it start past the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

/** CPU time (user + system) the process has used so far, in milliseconds; null if unreadable. */
export function readCpuMs(pid: number): number | null {
  const fields = statFields(pid);
  if (!fields) return null;
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? (ticks * 1000) / ticksPerSec() : null;
}

function statusKib(pid: number, key: "VmRSS" | "VmHWM" | "RssAnon"): number | null {
  return readStatusKib(pid, [key])[key] ?? null;
}

/**
 * Fields of /proc/<pid>/status in KiB (those present); empty when unreadable. VmRSS is
 * RssAnon + RssFile + RssShmem: anonymous memory (heaps, stacks), mapped files (LMDB's data
 * file, the node binary) and shared memory.
 */
export function readStatusKib<K extends string>(pid: number, keys: readonly K[]): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return out;
  }
  for (const key of keys) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    if (m) out[key] = Number(m[1]);
  }
  return out;
}

/** Resident set size now, in KiB. */
export const readRssKib = (pid: number): number | null => statusKib(pid, "VmRSS");
/** Anonymous resident memory now (heap, stacks; not mapped files such as LMDB's), in KiB. */
export const readRssAnonKib = (pid: number): number | null => statusKib(pid, "RssAnon");
/** Peak resident set size over the process's life (VmHWM), in KiB. */
export const readHwmKib = (pid: number): number | null => statusKib(pid, "VmHWM");

/** One RSS sample: ms since the sampler started, RSS and its anonymous part (the rest is mapped files), in MiB. */
export interface RssSample {
  tMs: number;
  rssMiB: number;
  anonMiB: number | null;
}

/** VmRSS split into its parts (/proc/<pid>/status), in MiB; a part is null when not reported. */
export interface RssParts {
  rssMiB: number;
  /** RssAnon: heaps (V8's, malloc's), stacks. */
  anonMiB: number | null;
  /** RssFile: mapped files (LMDB's data file read through its map, the node binary, libraries). */
  fileMiB: number | null;
  /** RssShmem: shared memory. */
  shmemMiB: number | null;
}

/** What a {@link ProcSampler} saw between start and stop. */
export interface ProcUsage {
  /** Broker CPU time used during the window, in ms (null if /proc was unreadable). */
  cpuMs: number | null;
  /** `cpuMs` over wall time, in percent of one core. */
  cpuPct: number | null;
  /** Largest sampled VmRSS during the window, in MiB. */
  peakRssMiB: number | null;
  /** VmHWM at the end (the process's lifetime peak), in MiB. */
  hwmMiB: number | null;
  /** The parts of the sample with the largest VmRSS (the peak); null if none was read. */
  peakParts: RssParts | null;
  /** The parts of the last sample, at the end of the window; null if unreadable. */
  endParts: RssParts | null;
  /** CPU of this (client) process over wall time, in percent of one core: is the client the bottleneck? */
  clientCpuPct: number;
  wallMs: number;
  samples: RssSample[];
}

/**
 * Samples a process's RSS every `intervalMs` and its CPU time at start and stop. `pid` is read
 * on every sample, so a broker restarted under the sampler (new pid) is followed; CPU time of a
 * process that went away is kept from its last sample.
 */
export class ProcSampler {
  readonly #pid: () => number;
  readonly #t0 = performance.now();
  readonly #clientCpu0 = process.cpuUsage();
  readonly #timer: NodeJS.Timeout;
  readonly #samples: RssSample[] = [];
  #sampled = false;
  #cpuByPid = new Map<number, { firstMs: number; lastMs: number }>();
  #peakKib: number | null = null;
  #peakParts: RssParts | null = null;
  #lastParts: RssParts | null = null;
  #maxSamples: number;

  /** Starts sampling; `maxSamples` bounds the timeline (older samples are thinned, peak is exact). */
  constructor(pid: () => number, intervalMs = 250, maxSamples = 2000) {
    this.#pid = pid;
    this.#maxSamples = maxSamples;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
    this.#timer.unref();
  }

  #sample(): void {
    const pid = this.#pid();
    const cpu = readCpuMs(pid);
    if (cpu !== null) {
      const seen = this.#cpuByPid.get(pid);
      if (seen) seen.lastMs = cpu;
      // A process first seen after the first sample started inside the window: all its CPU counts.
      else this.#cpuByPid.set(pid, { firstMs: this.#sampled ? 0 : cpu, lastMs: cpu });
    }
    this.#sampled = true;
    const st = readStatusKib(pid, ["VmRSS", "RssAnon", "RssFile", "RssShmem"] as const);
    const rss = st.VmRSS ?? null;
    if (rss === null) return;
    const anon = st.RssAnon ?? null;
    const parts: RssParts = {
      rssMiB: round1(rss / 1024),
      anonMiB: anon === null ? null : round1(anon / 1024),
      fileMiB: st.RssFile === undefined ? null : round1(st.RssFile / 1024),
      shmemMiB: st.RssShmem === undefined ? null : round1(st.RssShmem / 1024),
    };
    this.#lastParts = parts;
    if (this.#peakKib === null || rss > this.#peakKib) {
      this.#peakKib = rss;
      this.#peakParts = parts;
    }
    this.#samples.push({
      tMs: Math.round(performance.now() - this.#t0),
      rssMiB: round1(rss / 1024),
      anonMiB: anon === null ? null : round1(anon / 1024),
    });
    if (this.#samples.length > this.#maxSamples) {
      // Keep every other sample: the timeline stays bounded and evenly spread.
      const kept = this.#samples.filter((_, i) => i % 2 === 0);
      this.#samples.length = 0;
      this.#samples.push(...kept);
    }
  }

  /** Takes a last sample and stops. */
  stop(): ProcUsage {
    this.#sample();
    clearInterval(this.#timer);
    const wallMs = performance.now() - this.#t0;
    let cpuMs: number | null = null;
    for (const { firstMs, lastMs } of this.#cpuByPid.values()) cpuMs = (cpuMs ?? 0) + lastMs - firstMs;
    const hwm = readHwmKib(this.#pid());
    const client = process.cpuUsage(this.#clientCpu0);
    return {
      cpuMs: cpuMs === null ? null : Math.round(cpuMs),
      cpuPct: cpuMs === null || wallMs <= 0 ? null : round1((cpuMs / wallMs) * 100),
      peakRssMiB: this.#peakKib === null ? null : round1(this.#peakKib / 1024),
      hwmMiB: hwm === null ? null : round1(hwm / 1024),
      peakParts: this.#peakParts,
      endParts: this.#lastParts,
      clientCpuPct: wallMs > 0 ? round1((client.user + client.system) / 10 / wallMs) : 0,
      wallMs: Math.round(wallMs),
      samples: this.#samples,
    };
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
