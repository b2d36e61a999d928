/**
 * Top self-time functions of a V8 `.cpuprofile` (from `node --cpu-prof`), optionally split in two
 * phases at the first sample whose stack holds a given function (e.g. the first Pull, to separate a
 * publish phase from a drain phase).
 *
 *   node --import tsx bench/tools/cpuprofile-top.ts FILE.cpuprofile [--top 25] [--split NAME@URL_PART]
 *
 * Profile the broker of a benchmark run with BENCH_BROKER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR";
 * the profile is written when the broker exits (the suite stops it with SIGTERM, gracefully). The
 * broker runs the bundle dist/switchyard.js (README "Running"): frames in a file with a source map
 * beside it are named by their source file and line (see {@link remapBundledFrames}).
 */
import { existsSync, readFileSync } from "node:fs";
import { SourceMap, type SourceMapPayload } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** A node of a V8 profile tree (CPU profiles list them flat). */
export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number };
  children?: number[];
}

/** A V8 `.cpuprofile`. */
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function over a range of samples. */
export interface FunctionCost {
  name: string;
  selfMs: number;
  selfPct: number;
}

/** This repository's root with a trailing slash: frame names are relative to it. */
const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A frame as `function file:line`, the file relative to this repository. */
export function frameName(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url
    .replace(/^file:\/\//, "")
    .replace(REPO_ROOT, "")
    .replace(/^.*\/node_modules\//, "node_modules/");
  return `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
}

/**
 * Rewrites, in place, each frame of a `file://` script that has a source map beside it
 * (`FILE.map`, as esbuild writes for the bundle) to its original file and line, so self time is
 * told per source file (`src/store/engine/deliver.ts`) rather than all in one bundle.
 */
export function remapBundledFrames(profile: CpuProfile): void {
  const maps = new Map<string, { map: SourceMap; dir: string } | null>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      const path = url.startsWith("file://") ? fileURLToPath(url) : "";
      const mapPath = `${path}.map`;
      maps.set(
        url,
        path !== "" && existsSync(mapPath)
          ? { map: new SourceMap(JSON.parse(readFileSync(mapPath, "utf8")) as SourceMapPayload), dir: dirname(path) }
          : null,
      );
    }
    return maps.get(url);
  };
  for (const node of profile.nodes) {
    const frame = node.callFrame;
    const found = mapOf(frame.url);
    if (!found) continue;
    const entry = found.map.findEntry(frame.lineNumber, frame.columnNumber ?? 0) as {
      originalSource?: string;
      originalLine?: number;
    };
    if (entry.originalSource === undefined || entry.originalLine === undefined) continue;
    const source = entry.originalSource.startsWith("file://")
      ? entry.originalSource
      : pathToFileURL(resolve(found.dir, entry.originalSource)).href;
    node.callFrame = { ...frame, url: source, lineNumber: entry.originalLine };
  }
}

/** Self time per function for samples [from, to) of `profile`, largest first. */
export function topSelfTime(profile: CpuProfile, from: number, to: number, top: number): FunctionCost[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const costs = new Map<string, number>();
  let totalUs = 0;
  for (let i = from; i < to; i++) {
    const node = byId.get(profile.samples[i] as number);
    const dtUs = profile.timeDeltas[i] ?? 0;
    if (!node || node.callFrame.functionName === "(idle)") continue;
    totalUs += dtUs;
    const name = frameName(node);
    costs.set(name, (costs.get(name) ?? 0) + dtUs);
  }
  return [...costs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), selfPct: Math.round((us / totalUs) * 1000) / 10 }));
}

/** Index of the first sample whose stack contains a function named `fn` in a file whose URL contains `urlPart`. */
export function firstSampleWith(profile: CpuProfile, fn: string, urlPart: string): number {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Set<number>();
  for (const n of profile.nodes) {
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const f = byId.get(id)?.callFrame;
      if (f && f.functionName === fn && f.url.includes(urlPart)) {
        hits.add(n.id);
        break;
      }
    }
  }
  const i = profile.samples.findIndex((s) => hits.has(s));
  return i < 0 ? profile.samples.length : i;
}

function print(title: string, costs: FunctionCost[], busyMs: number): void {
  process.stdout.write(`\n${title} (non-idle CPU ${Math.round(busyMs)} ms)\n`);
  for (const c of costs)
    process.stdout.write(`${String(c.selfPct).padStart(5)} %  ${String(c.selfMs).padStart(6)} ms  ${c.name}\n`);
}

function busy(profile: CpuProfile, from: number, to: number): number {
  return topSelfTime(profile, from, to, Number.POSITIVE_INFINITY).reduce((s, c) => s + c.selfMs, 0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "25" }, split: { type: "string" } },
  });
  const file = positionals[0];
  if (!file) throw new Error("usage: cpuprofile-top.ts FILE.cpuprofile [--top N] [--split NAME@URL_PART]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  remapBundledFrames(profile);
  const top = Number(values.top);
  const n = profile.samples.length;
  if (values.split) {
    const [fn = "", urlPart = ""] = values.split.split("@");
    const at = firstSampleWith(profile, fn, urlPart);
    print(`before the first ${values.split}`, topSelfTime(profile, 0, at, top), busy(profile, 0, at));
    print(`from the first ${values.split}`, topSelfTime(profile, at, n, top), busy(profile, at, n));
  } else {
    print("whole profile", topSelfTime(profile, 0, n, top), busy(profile, 0, n));
  }
}
