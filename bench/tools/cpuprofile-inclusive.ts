/**
 * Inclusive (total) time per function of a V8 `.cpuprofile`: the time of every sample whose stack
 * holds the function, counted once per sample however often it recurs. Where self time is flat
 * (W3's main thread: many small costs), this shows which paths carry it. Bundled frames are
 * named by their source file (see `remapBundledFrames` in cpuprofile-top.ts).
 *
 *   node --import tsx bench/tools/cpuprofile-inclusive.ts FILE.cpuprofile [--top 60] [--from NAME@URL_PART]
 *
 * `--from` counts only samples from the first one whose stack holds that function (e.g.
 * `subscribe@src/core/subscribe.ts`, to leave out the start-up).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type CpuProfile, firstSampleWith, frameName, remapBundledFrames } from "./cpuprofile-top.js";

/** Inclusive time per function over samples [from, end), largest first, with the busy total. */
export function inclusiveTime(profile: CpuProfile, from: number): { busyMs: number; rows: [string, number][] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const perNode = new Map<number, number>();
  let busyUs = 0;
  for (let i = from; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    if (byId.get(id)?.callFrame.functionName === "(idle)") continue;
    const dt = profile.timeDeltas[i] ?? 0;
    busyUs += dt;
    perNode.set(id, (perNode.get(id) ?? 0) + dt);
  }
  const totals = new Map<string, number>();
  for (const [leaf, us] of perNode) {
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id);
      if (!node) break;
      const name = frameName(node);
      if (seen.has(name)) continue;
      seen.add(name);
      totals.set(name, (totals.get(name) ?? 0) + us);
    }
  }
  return { busyMs: busyUs / 1000, rows: [...totals].sort((a, b) => b[1] - a[1]).map(([n, us]) => [n, us / 1000]) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, ""))) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string" }, from: { type: "string" } },
  });
  const profile = JSON.parse(readFileSync(positionals[0] as string, "utf8")) as CpuProfile;
  remapBundledFrames(profile);
  const [fn, url] = (values.from ?? "").split("@");
  const from = fn && url ? firstSampleWith(profile, fn, url) : 0;
  const { busyMs, rows } = inclusiveTime(profile, from);
  process.stdout.write(`inclusive time (non-idle CPU ${Math.round(busyMs)} ms)\n`);
  for (const [name, ms] of rows.slice(0, Number(values.top ?? 60)))
    process.stdout.write(
      `${((ms / busyMs) * 100).toFixed(1).padStart(5)} %  ${Math.round(ms).toString().padStart(6)} ms  ${name}\n`,
    );
}
