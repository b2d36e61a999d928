/**
 * `npm run bench`: starts each target (a fresh broker process on a temp data dir, loopback), runs the
 * workloads against it from this process, and prints a Markdown table plus a JSON file of results.
 * With --peers the targets are interleaved (A B C A B C …) over --runs runs; medians and
 * Switchyard ÷ peer ratios from the same run are reported. See BENCHMARKS.md.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { runGophermqBench } from "./gophermq/gophermq-bench.js";
import { installExitHandlers, onInterrupt } from "./lib/children.js";
import { BENCH_USAGE, type BenchOptions, parseBenchArgs } from "./lib/cli.js";
import { machineFacts } from "./lib/machine.js";
import { renderComparisonTable, renderTargetTable, type Summary, summarize, type TargetRun } from "./lib/report.js";
import { ensurePeersInstalled, firstLine, type LoadedTarget, loadTarget, TARGET_SPECS } from "./lib/targets.js";
import { makeTempDir, removeDir } from "./lib/tempdir.js";
import { Deadline, withTimeout } from "./lib/time.js";
import { runOkqBench } from "./okq/okq-bench.js";
import { runStoreBench } from "./store/store-bench.js";
import type { BenchTarget, StartTarget } from "./targets/target.js";
import { runUnaryBench, UNARY_WORKLOAD_ID } from "./unary/unary-bench.js";
import { WORKLOADS } from "./workloads/index.js";
import type { SharedState, Workload } from "./workloads/types.js";
import { SWITCHYARD_CONSUMER_NOTE } from "./workloads/w2-consume.js";

const log = (line: string) => process.stderr.write(`${line}\n`);

interface Started {
  target: BenchTarget;
  dataDir: string;
  /** Removes the SIGINT cleanup. */
  release: () => void;
}

async function startTarget(name: string, start: StartTarget): Promise<Started> {
  const dataDir = makeTempDir(name);
  try {
    const target = await withTimeout(start(dataDir), 120_000, `starting ${name}`);
    const release = onInterrupt(async () => {
      await target.stop();
      removeDir(dataDir);
    });
    return { target, dataDir, release };
  } catch (e) {
    removeDir(dataDir);
    throw e;
  }
}

/** Stops the target (bounded) and removes its data dir even if the target left it. */
async function stopTarget(t: Started): Promise<void> {
  t.release();
  await withTimeout(t.target.stop(), 60_000, `stopping ${t.target.name}`).catch((e) =>
    log(`  ${t.target.name}: stop failed: ${firstLine(e)}`),
  );
  removeDir(t.dataDir);
}

/** Runs `workloads` on a fresh broker of `name`; a failed workload gets a fresh broker for the next. */
async function runTarget(
  name: string,
  start: StartTarget,
  workloads: readonly Workload[],
  options: BenchOptions,
  run: number,
  ackMeanings: Map<string, string>,
): Promise<TargetRun> {
  const tr: TargetRun = { run, target: name, results: [], errors: [] };
  let current: Started | null = await startTarget(name, start);
  ackMeanings.set(name, current.target.ackMeaning);
  let state: SharedState = {};
  try {
    for (const [i, w] of workloads.entries()) {
      if (current === null) {
        // The previous workload failed: a fresh broker (fresh data) for this one.
        try {
          current = await startTarget(name, start);
        } catch (e) {
          tr.errors.push({ workload: w.id, error: `broker restart failed: ${firstLine(e)}` });
          log(`  ${name}: broker restart failed: ${firstLine(e)}; skipping its remaining workloads`);
          break;
        }
      }
      const timeoutMs = options.params.workloadTimeoutMs;
      log(`[run ${run}] ${name} ${w.id}: ${w.title}`);
      const ctx = {
        target: current.target,
        params: options.params,
        state,
        deadline: new Deadline(timeoutMs),
        log: (l: string) => log(`  ${l}`),
      };
      try {
        tr.results.push(...(await withTimeout(w.run(ctx), timeoutMs + 60_000, `${name} ${w.id}`)));
      } catch (e) {
        const next = i + 1 < workloads.length ? " (a fresh broker for the next workload)" : "";
        log(`  ${name} ${w.id} FAILED: ${firstLine(e)}${next}`);
        tr.errors.push({ workload: w.id, error: firstLine(e) });
        await stopTarget(current);
        current = null;
        state = {};
      }
    }
  } finally {
    if (current !== null) await stopTarget(current);
  }
  return tr;
}

/** The Markdown report: a table per target, the side-by-side table, ack meanings, skips and failures. */
function report(
  options: BenchOptions,
  summary: Summary,
  runs: readonly TargetRun[],
  ackMeanings: ReadonlyMap<string, string>,
  skipped: ReadonlyMap<string, string>,
  errors: readonly string[],
): string {
  const targets = [...new Set(runs.map((r) => r.target))];
  const out = [`\n## Results (${options.quick ? "quick" : "full"}, ${options.runs} run(s), medians)\n`];
  for (const t of targets) out.push(`### ${t}\n\n${renderTargetTable(summary, t)}\n`);
  if (targets.length > 1) {
    out.push(
      "### Side by side\n\nRatio = switchyard ÷ peer from the same run, median over runs: above 1 means Switchyard's " +
        "number is higher (better for msg/s and MB/s, worse for ms, CPU and RSS).\n",
      `${renderComparisonTable(summary, targets)}\n`,
    );
  }
  out.push("What a publish confirmation (ack) means per target:");
  for (const [name, meaning] of ackMeanings) out.push(`- ${name}: ${meaning}`);
  if (options.only === null || options.only.includes("W2")) out.push(`\nNote: ${SWITCHYARD_CONSUMER_NOTE}.`);
  for (const [name, why] of skipped) out.push(`Skipped ${name}: ${why}`);
  for (const e of errors) out.push(`Failed: ${e}`);
  return `${out.join("\n")}\n`;
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(process.argv.slice(2));
  } catch (e) {
    log(`bench: ${firstLine(e)}\n\n${BENCH_USAGE}`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  installExitHandlers();
  const workloads = WORKLOADS.filter((w) => options.only === null || options.only.includes(w.id));
  const unary = options.only === null || options.only.includes(UNARY_WORKLOAD_ID);
  const unknown = options.only?.filter((id) => id !== UNARY_WORKLOAD_ID && !WORKLOADS.some((w) => w.id === id)) ?? [];
  if (unknown.length > 0 || (workloads.length === 0 && !unary)) {
    log(`bench: unknown workload(s) ${unknown.join(", ")}; known: ${WORKLOADS.map((w) => w.id).join(", ")}`);
    return 2;
  }
  const unknownTargets = options.targets?.filter((n) => !TARGET_SPECS.some((s) => s.name === n)) ?? [];
  if (unknownTargets.length > 0) {
    log(`bench: unknown target(s) ${unknownTargets.join(", ")}; known: ${TARGET_SPECS.map((s) => s.name).join(", ")}`);
    return 2;
  }
  const wanted = TARGET_SPECS.filter((s) =>
    options.targets ? options.targets.includes(s.name) : s.name === "switchyard" || options.peers,
  );
  if (wanted.some((s) => s.name !== "switchyard")) ensurePeersInstalled(log);
  const skipped = new Map<string, string>();
  const loaded: Array<{ name: string; start: StartTarget }> = [];
  for (const l of (await Promise.all(wanted.map(loadTarget))) as LoadedTarget[]) {
    if ("skipped" in l) skipped.set(l.name, l.skipped);
    else loaded.push(l);
  }
  for (const [name, why] of skipped) log(`skip ${name}: ${why}`);

  const startedAt = new Date();
  const machine = machineFacts();
  log(
    `bench: ${options.quick ? "quick" : "full"} run; workloads ${workloads.map((w) => w.id).join(" ")}; targets ${loaded.map((t) => t.name).join(" ")}; ${options.runs} run(s)`,
  );
  const runs: TargetRun[] = [];
  const ackMeanings = new Map<string, string>();
  for (let run = 1; run <= options.runs && workloads.length > 0; run++) {
    for (const t of loaded) {
      if (skipped.has(t.name)) continue;
      try {
        runs.push(await runTarget(t.name, t.start, workloads, options, run, ackMeanings));
      } catch (e) {
        skipped.set(t.name, `failed in run ${run}: ${firstLine(e)}`);
        log(`skip ${t.name}: failed in run ${run}: ${firstLine(e)}`);
      }
    }
  }

  const summary = summarize(runs);
  const errors = runs.flatMap((r) => r.errors.map((e) => `${r.target} run ${r.run} ${e.workload}: ${e.error}`));
  process.stdout.write(report(options, summary, runs, ackMeanings, skipped, errors));
  // The okQ bridge (RESP), with Redis appendfsync always beside it unless --quick; see bench/okq.
  const okq = options.only === null ? await runOkqBench({ quick: options.quick, log }) : undefined;
  if (okq) process.stdout.write(okq.markdown);
  // The store alone, in this process (publish, lease+ack, fan-out, restart with 1M); see bench/store.
  const store = options.only === null ? await runStoreBench({ quick: options.quick, log }) : undefined;
  if (store) process.stdout.write(store.markdown);
  // The GopherMQ bridge (HTTP JSON) beside Connect Publish/Pull on the same broker; see bench/gophermq.
  const gophermq = options.only === null ? await runGophermqBench({ quick: options.quick, log }) : undefined;
  if (gophermq) process.stdout.write(gophermq.markdown);
  // W1 unary: one Publish per call under h2load, beside grpc-js and bare node:http2; see bench/unary.
  const unaryResult = unary ? await runUnaryBench({ quick: options.quick, log }) : undefined;
  if (unaryResult) process.stdout.write(unaryResult.markdown);
  const file =
    options.out ??
    join(new URL(".", import.meta.url).pathname, "results", `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(dirname(file), { recursive: true });
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine,
    options,
    ackMeanings: Object.fromEntries(ackMeanings),
    skipped: Object.fromEntries(skipped),
    summary,
    runs,
    okq: okq?.rows,
    store: store?.rows,
    gophermq: gophermq?.rows,
    unary: unaryResult?.rows,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  log(`\nbench: results in ${file}`);
  const gophermqFailed =
    gophermq !== undefined && (gophermq.rows.length < 4 || gophermq.rows.some((r) => r.errors > 0));
  return errors.length > 0 || gophermqFailed ? 1 : 0;
}

// Exit explicitly: a peer client library may leave a handle open, and the suite must stop by itself.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
