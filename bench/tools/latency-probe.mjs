/**
 * A preload for the broker that measures, from inside it, how long its unary calls take and how
 * long its event loop is held: `BENCH_BROKER_NODE_FLAGS="--import ./bench/tools/latency-probe.mjs"`
 * with LATENCY_PROBE_DIR=/tmp/dir. At exit it writes `probe-<pid>.json` with, per method (the last
 * part of the `:path` of each HTTP/2 stream, e.g. `Ack`, `Publish`), the count and the mean, p50,
 * p90, p99 and max in ms from the stream's arrival to its close (the answer sent), and, from the
 * first stream of a method named in LATENCY_PROBE_START (default `Ack`: W2's drain) to exit, the
 * event-loop delay (perf_hooks.monitorEventLoopDelay, 1 ms resolution: mean, p50, p90, p99, max in
 * ms) and the garbage collections (count and ms by kind, the longest). With LATENCY_PROBE_TASKS=1
 * it also counts the turns of the event loop that ran longer than 2, 5 and 10 ms (a `setImmediate`
 * chain, so measuring adds one immediate per turn).
 *
 *   node --import tsx bench/tools/latency-probe-summary.ts DIR    # prints the files of DIR
 *
 * Plain JavaScript: the broker runs the compiled bundle. It patches `http2.createServer` (and
 * syncs the builtin's ESM exports) so that every session of every server it makes reports its streams.
 */
import { writeFileSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { createHistogram, monitorEventLoopDelay, PerformanceObserver, performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);
const http2 = require("node:http2");
const dir = process.env.LATENCY_PROBE_DIR ?? ".";
const startOn = process.env.LATENCY_PROBE_START ?? "Ack";
const tasks = process.env.LATENCY_PROBE_TASKS === "1";

/** @type {Map<string, import("node:perf_hooks").RecordableHistogram>} per method, µs */
const calls = new Map();
const loop = monitorEventLoopDelay({ resolution: 1 });
let started = false;
/** @type {Record<string, {count: number, ms: number}>} */
const gcs = {};
let gcMaxMs = 0;
/** @type {Record<number, string>} */
const GC_KINDS = { 1: "scavenge", 2: "mark-compact", 4: "incremental", 8: "weak-callbacks", 16: "minor-mark-sweep" };
const gcObserver = new PerformanceObserver((list) => {
  if (!started) return;
  for (const e of list.getEntries()) {
    const kind = GC_KINDS[/** @type {any} */ (e).detail?.kind] ?? "other";
    gcs[kind] ??= { count: 0, ms: 0 };
    const g = gcs[kind];
    g.count++;
    g.ms += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
  }
});
gcObserver.observe({ entryTypes: ["gc"] });

const turns = { count: 0, over2: 0, over5: 0, over10: 0, maxMs: 0 };
function watchTurns() {
  let last = performance.now();
  const tick = () => {
    const now = performance.now();
    const ms = now - last;
    last = now;
    turns.count++;
    if (ms > 2) turns.over2++;
    if (ms > 5) turns.over5++;
    if (ms > 10) turns.over10++;
    if (ms > turns.maxMs) turns.maxMs = ms;
    setImmediate(tick).unref();
  };
  setImmediate(tick).unref();
}

function begin() {
  if (started) return;
  started = true;
  loop.enable();
  if (tasks) watchTurns();
}

const createServer = http2.createServer;
/** @param {...any} args */
http2.createServer = function (...args) {
  const server = /** @type {import("node:http2").Http2Server} */ (Reflect.apply(createServer, this, args));
  // On the session: the server's own 'stream' listeners are replaced (src/server/http2-streams.ts).
  server.on("session", (session) => session.prependListener("stream", onStream));
  return server;
};
syncBuiltinESMExports();

/** @param {import("node:http2").ServerHttp2Stream} stream @param {import("node:http2").IncomingHttpHeaders} headers */
function onStream(stream, headers) {
  const path = String(headers[":path"] ?? "");
  const method = path.slice(path.lastIndexOf("/") + 1);
  if (method === startOn) begin();
  const t0 = performance.now();
  stream.once("close", () => {
    let h = calls.get(method);
    if (h === undefined) {
      h = createHistogram();
      calls.set(method, h);
    }
    h.record(Math.max(1, Math.round((performance.now() - t0) * 1000)));
  });
}

/** @param {import("node:perf_hooks").RecordableHistogram | import("node:perf_hooks").IntervalHistogram} h @param {number} toMs */
function summary(h, toMs) {
  const r = (/** @type {number} */ x) => Math.round(x * toMs * 1000) / 1000;
  return {
    count: h.count,
    mean: r(h.mean),
    p50: r(h.percentile(50)),
    p90: r(h.percentile(90)),
    p99: r(h.percentile(99)),
    max: r(h.max),
  };
}

process.on("exit", () => {
  loop.disable();
  const out = {
    calls: Object.fromEntries([...calls].map(([m, h]) => [m, summary(h, 1e-3)])),
    eventLoopDelayMs: started ? summary(loop, 1e-6) : undefined,
    gc: { ...gcs, maxMs: Math.round(gcMaxMs * 1000) / 1000 },
    turns: tasks ? turns : undefined,
  };
  writeFileSync(join(dir, `probe-${process.pid}.json`), `${JSON.stringify(out, null, 1)}\n`);
});
