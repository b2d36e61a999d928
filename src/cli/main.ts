/**
 * The `switchyard` command: `switchyard serve [flags]` runs the broker, the other commands are a
 * client of a running broker (see program.ts). bin/switchyard.js runs it as one esbuild bundle
 * (README "Running"); `node --import tsx src/cli/main.ts` runs the sources directly.
 */
import { runCli } from "./run-cli.js";

// A reader that went away (`switchyard sub q | head -3`): stop quietly. Unacked messages go back.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

const code = await runCli(process.argv.slice(2));
process.exitCode = code;
// Everything is closed by now; don't let a stray handle keep a stopped broker alive.
setTimeout(() => process.exit(code), 2_000).unref();
