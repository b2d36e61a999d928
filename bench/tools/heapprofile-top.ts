/**
 * Where the broker allocates, per phase of a benchmark: reads what bench/tools/alloc-sampler.mjs
 * wrote and ranks functions by the bytes they allocated (sampled; objects collected since count
 * too), with the garbage collections of the phase.
 *
 *   BENCH_BROKER_NODE_FLAGS="--import ./bench/tools/alloc-sampler.mjs" ALLOC_SAMPLER_DIR=/tmp/d \
 *     npm run bench -- --only W2 --targets switchyard
 *   node --import tsx bench/tools/heapprofile-top.ts /tmp/d/alloc-PID.json [--from 2] [--to 2]
 *     [--messages 100000] [--top 30] [--callers 1]
 *
 * Phases are numbered from 0 (the broker's start), then one per accepted connection; `--from` and
 * `--to` pick a span (both inclusive; default: the last phase). With `--messages` the bytes and
 * collections are also given per message. `--callers N` names each allocation site with its N
 * nearest callers.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CpuProfile, frameName, type ProfileNode, remapBundledFrames } from "./cpuprofile-top.js";

/** A node of a sampling heap profile (a tree). */
interface HeapNode extends ProfileNode {
  selfSize: number;
  children?: never;
  kids: HeapNode[];
}

/** What alloc-sampler.mjs writes. */
interface AllocFile {
  intervalBytes: number;
  phases: {
    label: string;
    startMs: number;
    gc: Record<string, { count: number; ms: number }>;
    /** Absent when the sampler ran with ALLOC_SAMPLER_HEAP=0 (collections only). */
    profile?: { head: RawNode; samples: { size: number; nodeId: number; ordinal: number }[] };
  }[];
}

interface RawNode {
  id: number;
  callFrame: ProfileNode["callFrame"];
  selfSize: number;
  children: RawNode[];
}

/** Flattens a heap profile tree into nodes with their parents, frames remapped to the sources. */
function flatten(head: RawNode): { nodes: HeapNode[]; parent: Map<HeapNode, HeapNode> } {
  const nodes: HeapNode[] = [];
  const parent = new Map<HeapNode, HeapNode>();
  const visit = (raw: RawNode, up: HeapNode | undefined): void => {
    const node: HeapNode = { id: raw.id, callFrame: raw.callFrame, selfSize: raw.selfSize, kids: [] };
    nodes.push(node);
    if (up) {
      parent.set(node, up);
      up.kids.push(node);
    }
    for (const c of raw.children) visit(c, node);
  };
  visit(head, undefined);
  remapBundledFrames({ nodes, samples: [], timeDeltas: [] } as CpuProfile);
  return { nodes, parent };
}

/** Bytes allocated per site (a function and `callers` of its callers), largest first. */
export function rankSites(head: RawNode, callers: number): { site: string; bytes: number }[] {
  const { nodes, parent } = flatten(head);
  const bytes = new Map<string, number>();
  for (const n of nodes) {
    if (n.selfSize === 0) continue;
    const names = [frameName(n)];
    let up = parent.get(n);
    for (let i = 0; i < callers && up; i++, up = parent.get(up)) names.push(frameName(up));
    const site = names.join(" < ");
    bytes.set(site, (bytes.get(site) ?? 0) + n.selfSize);
  }
  return [...bytes].map(([site, b]) => ({ site, bytes: b })).sort((a, b) => b.bytes - a.bytes);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: "string" },
      to: { type: "string" },
      messages: { type: "string" },
      top: { type: "string", default: "30" },
      callers: { type: "string", default: "0" },
    },
  });
  const file = positionals[0];
  if (!file) throw new Error("usage: heapprofile-top.ts alloc-PID.json [--from N] [--to N] [--messages N]");
  const data = JSON.parse(readFileSync(file, "utf8")) as AllocFile;
  for (const [i, p] of data.phases.entries()) {
    const total = p.profile?.samples.reduce((s, x) => s + x.size, 0) ?? 0;
    const gc = Object.entries(p.gc).map(([k, g]) => `${k} ${g.count} (${Math.round(g.ms)} ms)`);
    process.stdout.write(`phase ${i} ${p.label} at ${Math.round(p.startMs)} ms: ${mib(total)} MiB; ${gc.join(", ")}\n`);
  }
  const last = data.phases.length - 1;
  const from = Number(values.from ?? last);
  const to = Number(values.to ?? values.from ?? last);
  const messages = values.messages === undefined ? 0 : Number(values.messages);
  const ranked = new Map<string, number>();
  let total = 0;
  const gc = new Map<string, { count: number; ms: number }>();
  for (let i = from; i <= to; i++) {
    const p = data.phases[i];
    if (!p) continue;
    for (const s of p.profile ? rankSites(p.profile.head, Number(values.callers)) : []) {
      ranked.set(s.site, (ranked.get(s.site) ?? 0) + s.bytes);
      total += s.bytes;
    }
    for (const [k, g] of Object.entries(p.gc)) {
      const sum = gc.get(k) ?? { count: 0, ms: 0 };
      sum.count += g.count;
      sum.ms += g.ms;
      gc.set(k, sum);
    }
  }
  const per = (n: number) => (messages > 0 ? ` (${(n / messages).toFixed(1)} B/msg)` : "");
  process.stdout.write(`\nphases ${from}..${to}: ${mib(total)} MiB allocated${per(total)}\n`);
  for (const [k, g] of gc) {
    const per100k = messages > 0 ? `, ${((g.count * 100_000) / messages).toFixed(1)} per 100k msgs` : "";
    process.stdout.write(`  gc ${k}: ${g.count} (${Math.round(g.ms)} ms)${per100k}\n`);
  }
  const sorted = [...ranked].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
  for (const [site, b] of sorted) {
    const pct = ((b / total) * 100).toFixed(1).padStart(5);
    process.stdout.write(`${pct} %  ${mib(b).padStart(8)} MiB${per(b).padEnd(16)}  ${site}\n`);
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
