/**
 * The main thread's busy spans in a V8 `.cpuprofile` (from `node --cpu-prof`): runs of samples
 * with no `(idle)` sample between them, which is what a write thread that waits for the main
 * thread (lmdb-js runs a transaction's callbacks there) or an answer that waits for its turn waits
 * behind. Prints how many spans there are by length and how much time they hold, and what the
 * long ones (≥ `--long` ms) are made of, by category (the first rule of {@link CATEGORIES} that a
 * sample's stack matches; else its own frame), over all long spans and for the longest few.
 *
 *   node --import tsx bench/tools/cpuprofile-spans.ts FILE.cpuprofile [--from NAME@URL_PART] [--long 5] [--show 8]
 *
 * `--from` starts at the first sample whose stack holds that function (e.g. `ack@settle-ops` for
 * W2's drain, whose fill comes first). A span is not a macrotask: tasks that follow one another
 * with no idle sample between them (1 sample per ~1 ms by default; `--cpu-prof-interval` in µs
 * makes them finer) are one span, which is what a waiting write thread sees anyway.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CpuProfile, firstSampleWith, frameName, type ProfileNode, remapBundledFrames } from "./cpuprofile-top.js";

/** Categories by a frame of the stack: [label, test on `function file:line`]. First match wins. */
const CATEGORIES: [string, (frame: string) => boolean][] = [
  ["gc", (f) => f.startsWith("(garbage collector)")],
  ["encode deliveries", (f) => f.includes("delivery-encoder.ts")],
  ["lmdb txn callbacks", (f) => f.startsWith("executeTxnCallbacks")],
  ["lmdb resolve writes", (f) => f.includes("node_modules/lmdb/write.js")],
  ["lease", (f) => /src\/store\/engine\/(deliver|lease|picker|lane|lane-reads|log-tail|cursor)\.ts/.test(f)],
  ["trim", (f) => f.includes("src/store/engine/trim.ts")],
  ["ack/settle", (f) => /settle-ops\.ts|engine\/settle\.ts|release\.ts/.test(f)],
  ["publish", (f) => /engine\/append\.ts|publish-batcher\.ts|publish-codec\.ts/.test(f)],
  ["subscribe loop", (f) => f.includes("src/core/subscribe.ts")],
  ["lean rpc", (f) => f.includes("src/rpc/lean/")],
  ["http2 (node)", (f) => f.includes("node:internal/http2") || f.includes("node:internal/stream_base")],
];

interface Span {
  startMs: number;
  ms: number;
  byCategory: Map<string, number>;
}

function categorize(stack: string[]): string {
  for (const [label, test] of CATEGORIES) if (stack.some(test)) return label;
  return stack[stack.length - 1] ?? "?";
}

/** The busy spans from sample `from` on. */
export function busySpans(profile: CpuProfile, from: number): Span[] {
  const byId = new Map<number, ProfileNode>(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const categoryOf = new Map<number, string>();
  const category = (id: number): string => {
    let c = categoryOf.get(id);
    if (c === undefined) {
      const stack: string[] = [];
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const n = byId.get(at);
        if (n) stack.unshift(frameName(n));
      }
      c = categorize(stack);
      categoryOf.set(id, c);
    }
    return c;
  };
  const spans: Span[] = [];
  let t = 0;
  let open: Span | undefined;
  for (let i = 0; i < profile.samples.length; i++) {
    t += (profile.timeDeltas[i] ?? 0) / 1000;
    if (i < from) continue;
    const id = profile.samples[i] as number;
    // A sample's delta is the time since the previous one: count it to this sample's state.
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (byId.get(id)?.callFrame.functionName === "(idle)") {
      open = undefined;
      continue;
    }
    if (open === undefined) {
      open = { startMs: t, ms: 0, byCategory: new Map() };
      spans.push(open);
    }
    open.ms += dt;
    const c = category(id);
    open.byCategory.set(c, (open.byCategory.get(c) ?? 0) + dt);
  }
  return spans;
}

function shares(byCategory: Map<string, number>, total: number): string {
  return [...byCategory]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([c, ms]) => `${c} ${Math.round((ms / total) * 100)}%`)
    .join(", ");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: "string" },
      long: { type: "string", default: "5" },
      show: { type: "string", default: "8" },
    },
  });
  const file = positionals[0];
  if (!file)
    throw new Error("usage: cpuprofile-spans.ts FILE.cpuprofile [--from NAME@URL_PART] [--long MS] [--show N]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  remapBundledFrames(profile);
  let from = 0;
  if (values.from) {
    const [fn = "", urlPart = ""] = values.from.split("@");
    from = firstSampleWith(profile, fn, urlPart);
  }
  const spans = busySpans(profile, from);
  const longMs = Number(values.long);
  const buckets = [1, 2, 5, 10, 20, Number.POSITIVE_INFINITY];
  let lower = 0;
  process.stdout.write("busy spans by length: count, total ms\n");
  for (const upper of buckets) {
    const inB = spans.filter((s) => s.ms >= lower && s.ms < upper);
    const total = inB.reduce((a, s) => a + s.ms, 0);
    process.stdout.write(`  [${lower}, ${upper}) ms: ${inB.length}, ${Math.round(total)} ms\n`);
    lower = upper;
  }
  const long = spans.filter((s) => s.ms >= longMs);
  const all = new Map<string, number>();
  for (const s of long) for (const [c, ms] of s.byCategory) all.set(c, (all.get(c) ?? 0) + ms);
  const longTotal = long.reduce((a, s) => a + s.ms, 0);
  process.stdout.write(
    `spans >= ${longMs} ms (${long.length}, ${Math.round(longTotal)} ms): ${shares(all, longTotal)}\n`,
  );
  for (const s of [...long].sort((a, b) => b.ms - a.ms).slice(0, Number(values.show))) {
    process.stdout.write(`  at ${Math.round(s.startMs)} ms, ${s.ms.toFixed(1)} ms: ${shares(s.byCategory, s.ms)}\n`);
  }
}
