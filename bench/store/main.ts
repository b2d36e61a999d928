/**
 * `node --import tsx bench/store/main.ts [--quick]`: the store benchmark on its own (it also runs
 * at the end of `npm run bench` when no --only is given). See BENCHMARKS.md.
 */
import { runStoreBench } from "./store-bench.js";

const quick = process.argv.includes("--quick");
runStoreBench({ quick, log: (l) => process.stderr.write(`${l}\n`) }).then(
  ({ markdown }) => {
    process.stdout.write(markdown);
    process.exit(0);
  },
  (e: unknown) => {
    process.stderr.write(`store bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
