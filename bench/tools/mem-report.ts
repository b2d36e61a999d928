/**
 * Where the broker's resident memory is at each benchmark row, from bench/tools/mem-probe.mjs's
 * samples and the bench's log with a wall-clock prefix on each line (ms since the epoch):
 *
 *   BENCH_BROKER_NODE_FLAGS="--import ./bench/tools/mem-probe.mjs" MEM_PROBE_DIR=D \
 *     npm run bench -- --only W1,W2,W3,W4 --targets switchyard 2>&1 \
 *     | while IFS= read -r l; do echo "$(date +%s%3N) $l"; done > D/log.txt
 *   node --import tsx bench/tools/mem-report.ts D
 *
 * A row runs from its workload's start line (or the previous row's result line in the same
 * workload) to its result line. Per row it prints the sample with the largest VmRSS (the peak)
 * and the last one, in MiB: VmRSS = anon + file; file = LMDB's data.mdb + node's binary + other
 * files; anon ≈ V8's heap + malloc's brk heap and thread arenas + other anonymous mappings.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

type Sample = Record<string, number>;

const dir = process.argv[2];
if (!dir) throw new Error("usage: mem-report.ts DIR (with mem-<pid>.jsonl and log.txt)");
const samples: Sample[] = [];
for (const f of readdirSync(dir).filter((n) => /^mem-\d+\.jsonl$/.test(n))) {
  for (const line of readFileSync(join(dir, f), "utf8").split("\n")) if (line) samples.push(JSON.parse(line) as Sample);
}
samples.sort((a, b) => (a.t ?? 0) - (b.t ?? 0));

interface Row {
  name: string;
  from: number;
  to: number;
}
const rows: Row[] = [];
let start = 0;
for (const line of readFileSync(join(dir, "log.txt"), "utf8").split("\n")) {
  const m = /^(\d+) (.*)$/.exec(line);
  if (!m) continue;
  const t = Number(m[1]);
  const text = m[2] as string;
  if (/^\[run \d+\] \S+ \S+:/.test(text)) start = t;
  const r = /^ {2}(W\d\S*(?: single| batched| drain| e2e| fan-out)?):/.exec(text);
  if (r && start > 0) {
    rows.push({ name: r[1] as string, from: start, to: t });
    start = t;
  }
}

const cols: [string, string][] = [
  ["VmRSS", "rss"],
  ["RssAnon", "anon"],
  ["RssFile", "file"],
  ["dataMdbMiB", "data.mdb"],
  ["dataMdbFileMiB", "mdb size"],
  ["nodeMiB", "node bin"],
  ["v8Physical", "v8 heap"],
  ["v8NewSpace", "v8 new"],
  ["arrayBuffers", "arrayBuf"],
  ["brkHeapMiB", "brk heap"],
  ["arenasMiB", "arenas"],
  ["anonOtherMiB", "anon other"],
];
console.log(`| row | at | ${cols.map((c) => c[1]).join(" | ")} |`);
console.log(`| --- | --- | ${cols.map(() => "---:").join(" | ")} |`);
for (const row of rows) {
  const inRow = samples.filter((s) => (s.t ?? 0) >= row.from && (s.t ?? 0) <= row.to);
  if (inRow.length === 0) continue;
  const peak = inRow.reduce((a, b) => ((b.VmRSS ?? 0) > (a.VmRSS ?? 0) ? b : a));
  const last = inRow[inRow.length - 1] as Sample;
  for (const [at, s] of [
    ["peak", peak],
    ["end", last],
  ] as const) {
    console.log(`| ${row.name} | ${at} | ${cols.map(([k]) => String(Math.round(s[k] ?? Number.NaN))).join(" | ")} |`);
  }
}
