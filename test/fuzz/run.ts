/**
 * `npm run fuzz [-- --runs N] [--only NAME[,NAME]] [--seed S]`: runs every fuzzer (test/fuzz/
 * fuzzers.ts) for N cases each (default 1,000,000) and prints one line per round and a summary.
 * Exits 1 on the first failing case (fast-check prints the seed and the shrunk counterexample:
 * rerun with `--only NAME --seed S`). Run with `--expose-gc` (the npm script does) so the heap
 * samples are taken after a collection.
 */
import { parseArgs } from "node:util";
import { runFuzzer } from "./fuzz-kit.js";
import { FUZZERS } from "./fuzzers.js";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "1000000" },
    only: { type: "string" },
    seed: { type: "string" },
    list: { type: "boolean", default: false },
  },
});
if (values.list) {
  for (const f of FUZZERS) console.log(`${f.name}: ${f.description}`);
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`fuzz: --runs must be a positive integer, not ${values.runs}`);
  process.exit(2);
}
const only = values.only?.split(",");
const unknown = only?.filter((n) => !FUZZERS.some((f) => f.name === n)) ?? [];
if (unknown.length > 0) {
  console.error(`fuzz: no fuzzer named ${unknown.join(", ")} (see --list)`);
  process.exit(2);
}
// Any rejection the code under test leaves unhandled is a failure of the run.
process.on("unhandledRejection", (e) => {
  console.error("fuzz: unhandled rejection", e);
  process.exit(1);
});
let failed = false;
for (const fuzzer of FUZZERS) {
  if (only && !only.includes(fuzzer.name)) continue;
  try {
    const r = await runFuzzer(fuzzer, {
      runs,
      ...(values.seed ? { seed: Number(values.seed) } : {}),
      log: (line) => console.error(line),
    });
    const rate = Math.round(r.runs / (r.durationMs / 1000));
    const heap = r.heapAfterRounds.map((h) => h >> 20);
    console.log(
      `ok ${r.name}: ${r.runs} cases in ${(r.durationMs / 1000).toFixed(1)} s (${rate}/s), seed ${r.seed}, heap after each round ${heap.join(" ")} MiB`,
    );
  } catch (e) {
    failed = true;
    console.log(`FAILED ${fuzzer.name}`);
    console.error(e instanceof Error ? e.message : e);
    if (e instanceof Error && e.cause) console.error("cause:", e.cause);
  }
}
process.exit(failed ? 1 : 0);
