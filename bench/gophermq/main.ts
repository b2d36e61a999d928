/**
 * `node --import tsx bench/gophermq/main.ts [--quick]`: the GopherMQ bridge benchmark on its own
 * (it also runs at the end of `npm run bench` when no --only is given). See BENCHMARKS.md.
 */
import { installExitHandlers } from "../lib/children.js";
import { runGophermqBench } from "./gophermq-bench.js";

installExitHandlers();
const quick = process.argv.includes("--quick");
runGophermqBench({ quick, log: (l) => process.stderr.write(`${l}\n`) }).then(
  ({ rows, markdown }) => {
    process.stdout.write(markdown);
    process.exit(rows.length < 4 || rows.some((r) => r.errors > 0) ? 1 : 0);
  },
  (e: unknown) => {
    process.stderr.write(`gophermq bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
