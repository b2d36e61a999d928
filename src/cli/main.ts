/**
 * The `switchyard` command: `switchyard serve [flags]` (see usage.ts). Run it with
 * `node --import tsx src/cli/main.ts serve` or through bin/switchyard.js.
 */
import { runCli } from "./run-cli.js";

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; don't let a stray handle keep a stopped broker alive.
setTimeout(() => process.exit(code), 2_000).unref();
