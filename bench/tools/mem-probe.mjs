/**
 * A preload for the broker that records where its resident memory is, over time:
 * `BENCH_BROKER_NODE_FLAGS="--import ./bench/tools/mem-probe.mjs"` with MEM_PROBE_DIR=/tmp/dir
 * (MEM_PROBE_MS sets the interval, default 500). It appends one JSON line per sample to
 * `mem-<pid>.jsonl`: wall time; VmRSS and its parts from /proc/self/status; V8's heap and
 * external memory (process.memoryUsage, v8.getHeapStatistics); and /proc/self/smaps summed by
 * kind: LMDB's data file, the node binary and other files, the brk heap (malloc's main arena),
 * malloc's thread arenas (anonymous mappings aligned to 64 MiB, glibc's HEAP_MAX_SIZE) and other
 * anonymous mappings (V8's heap pages, stacks, large mallocs). bench/tools/mem-report.ts turns
 * it into a table per benchmark row. Plain JavaScript: the broker runs the compiled bundle.
 */
import { appendFileSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import v8 from "node:v8";

const dir = process.env.MEM_PROBE_DIR ?? ".";
const intervalMs = Number(process.env.MEM_PROBE_MS ?? 500);
const file = join(dir, `mem-${process.pid}.jsonl`);
const MIB = 1024;
const ARENA_ALIGN = 64n * 1024n * 1024n;

/** @param {number} kib */
const mib = (kib) => Math.round((kib / MIB) * 10) / 10;

function statusParts() {
  const text = readFileSync("/proc/self/status", "utf8");
  /** @type {Record<string, number>} */
  const out = {};
  for (const key of ["VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM"]) {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    if (m) out[key] = mib(Number(m[1]));
  }
  return out;
}

/** Sums Rss (KiB) of /proc/self/smaps by kind of mapping. */
function smapsParts() {
  const text = readFileSync("/proc/self/smaps", "utf8");
  /** @type {Record<string, number>} */
  const kib = { dataMdb: 0, lockMdb: 0, node: 0, otherFile: 0, brkHeap: 0, arenas: 0, anonOther: 0, stack: 0 };
  let kind = "anonOther";
  let arenaCount = 0;
  let dataMdbMappedKib = 0;
  let dataMdbPath = "";
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      const [, from = "0", to = "0", perms = "", path = ""] = head;
      if (path.endsWith("data.mdb")) {
        kind = "dataMdb";
        dataMdbPath = path;
        dataMdbMappedKib += Number((BigInt(`0x${to}`) - BigInt(`0x${from}`)) / 1024n);
      } else if (path.endsWith("lock.mdb")) kind = "lockMdb";
      else if (path.endsWith("/node") || path.includes("/bin/node")) kind = "node";
      else if (path === "[heap]") kind = "brkHeap";
      else if (path.startsWith("[stack")) kind = "stack";
      else if (path.startsWith("/")) kind = "otherFile";
      else if (path === "" && perms.startsWith("rw") && BigInt(`0x${from}`) % ARENA_ALIGN === 0n) {
        kind = "arenas";
        arenaCount++;
      } else kind = "anonOther";
      continue;
    }
    if (line.startsWith("Rss:")) kib[kind] = (kib[kind] ?? 0) + Number(/(\d+)/.exec(line)?.[1] ?? 0);
  }
  /** @type {Record<string, number>} */
  const out = { arenaCount, dataMdbMappedMiB: mib(dataMdbMappedKib), dataMdbFileMiB: 0 };
  if (dataMdbPath !== "") out.dataMdbFileMiB = mib(statSync(dataMdbPath).size / 1024);
  for (const [k, v] of Object.entries(kib)) out[`${k}MiB`] = mib(v);
  return out;
}

/** @param {string} name physical size of one V8 heap space, in bytes */
function space(name) {
  return v8.getHeapSpaceStatistics().find((s) => s.space_name === name)?.physical_space_size ?? 0;
}

function sample() {
  const mu = process.memoryUsage();
  const hs = v8.getHeapStatistics();
  const line = {
    t: Date.now(),
    ...statusParts(),
    v8HeapUsed: Math.round(mu.heapUsed / 1048576),
    v8HeapTotal: Math.round(mu.heapTotal / 1048576),
    v8Physical: Math.round(hs.total_physical_size / 1048576),
    v8Malloced: Math.round(hs.malloced_memory / 1048576),
    v8NewSpace: Math.round(space("new_space") / 1048576),
    v8OldSpace: Math.round(space("old_space") / 1048576),
    external: Math.round(mu.external / 1048576),
    arrayBuffers: Math.round(mu.arrayBuffers / 1048576),
    ...smapsParts(),
  };
  appendFileSync(file, `${JSON.stringify(line)}\n`);
}

sample();
setInterval(sample, intervalMs).unref();
