/**
 * A preload for the broker that measures allocation and garbage collection, per phase of a
 * benchmark: `BENCH_BROKER_NODE_FLAGS="--import ./bench/tools/alloc-sampler.mjs"` with
 * ALLOC_SAMPLER_DIR=/tmp/dir. (Node's `--heap-prof` keeps only the samples of objects still alive
 * at exit, so it cannot tell where garbage comes from; this asks V8's sampling heap profiler to
 * keep the collected ones too.)
 *
 * A phase starts at each TCP connection the broker accepts (a benchmark's publisher and its
 * consumer each open their own HTTP/2 session), so W2's untimed fill and its drain land in
 * different phases. At exit it writes `alloc-<pid>.json`: per phase the start time, the
 * garbage collections (count and ms by kind) and the sampled heap profile, for
 * bench/tools/heapprofile-top.ts. Plain JavaScript: the broker runs the compiled bundle.
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import net from "node:net";
import { join } from "node:path";
import { PerformanceObserver, performance } from "node:perf_hooks";

const dir = process.env.ALLOC_SAMPLER_DIR ?? ".";
const intervalBytes = Number(process.env.ALLOC_SAMPLER_INTERVAL ?? 16384);
/** ALLOC_SAMPLER_HEAP=0: count garbage collections only (no heap profile, no sampling cost). */
const sampling = process.env.ALLOC_SAMPLER_HEAP !== "0";
const session = new Session();
session.connect();

/**
 * Posts to the in-process inspector; its callback runs before `post` returns.
 * @param {string} method
 * @param {object} [params]
 * @returns {any}
 */
function postSync(method, params) {
  /** @type {any} */
  let out;
  let failure;
  session.post(method, params, (err, result) => {
    failure = err;
    out = result;
  });
  if (failure) throw failure;
  return out;
}

/** @typedef {{label: string, startMs: number, gc: Record<string, {count: number, ms: number}>, profile: unknown}} Phase */
/** @type {Phase[]} */
const phases = [];
/** @type {Phase | undefined} */
let current;

/** @param {string} label */
function startPhase(label) {
  if (current && sampling) current.profile = postSync("HeapProfiler.stopSampling").profile;
  current = { label, startMs: performance.now(), gc: {}, profile: undefined };
  phases.push(current);
  if (!sampling) return;
  postSync("HeapProfiler.startSampling", {
    samplingInterval: intervalBytes,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
}

/** V8's kinds of collection, as perf_hooks numbers them (perf_hooks.constants.NODE_PERFORMANCE_GC_*). @type {Record<number, string>} */
const GC_KINDS = { 1: "scavenge", 4: "mark-sweep", 8: "incremental-marking", 16: "weak-callbacks" };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (!current) return;
    const detailKind = /** @type {{detail?: {kind?: number}}} */ (e).detail?.kind ?? 0;
    const kind = GC_KINDS[detailKind] ?? String(detailKind);
    const g = current.gc[kind] ?? { count: 0, ms: 0 };
    g.count++;
    g.ms += e.duration;
    current.gc[kind] = g;
  }
}).observe({ entryTypes: ["gc"] });

startPhase("start");
let connections = 0;
/** @type {(this: net.Server, event: string | symbol, ...args: unknown[]) => boolean} */
const emit = /** @type {any} */ (net.Server.prototype.emit);
/** @type {(this: net.Server, event: string | symbol, ...args: unknown[]) => boolean} */
const counting = function (event, ...args) {
  if (event === "connection") startPhase(`connection ${++connections}`);
  return emit.call(this, event, ...args);
};
net.Server.prototype.emit = /** @type {any} */ (counting);

process.on("exit", () => {
  if (!current) return;
  if (sampling) current.profile = postSync("HeapProfiler.stopSampling").profile;
  writeFileSync(join(dir, `alloc-${process.pid}.json`), JSON.stringify({ intervalBytes, phases }));
});
