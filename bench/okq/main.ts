/**
 * `node --import tsx bench/okq/main.ts [--quick] [--no-redis-benchmark] [--no-redis]`: the okQ bridge
 * benchmark on its own (it also runs at the end of `npm run bench` when no --only is given). See
 * BENCHMARKS.md. `--no-redis-benchmark` leaves out the `redis-benchmark` push rows (push and drain
 * phases only); `--no-redis` leaves out Redis altogether (Switchyard's rows only, for A/B runs).
 */
import { installExitHandlers } from "../lib/children.js";
import { runOkqBench } from "./okq-bench.js";

installExitHandlers();
const quick = process.argv.includes("--quick");
const redisBenchmark = !process.argv.includes("--no-redis-benchmark");
const redis = process.argv.includes("--no-redis") ? false : undefined;
runOkqBench({
  quick,
  redisBenchmark,
  ...(redis === false ? { redis } : {}),
  log: (l) => process.stderr.write(`${l}\n`),
}).then(
  ({ rows, markdown }) => {
    process.stdout.write(markdown);
    process.exit(rows.some((r) => r.errors > 0 && r.phase.startsWith("push (node")) ? 1 : 0);
  },
  (e: unknown) => {
    process.stderr.write(`okq bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
