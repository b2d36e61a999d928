import { CommanderError } from "commander";
import { type CliIo, processIo } from "./cli-io.js";
import { EXIT, UsageError } from "./client/cli-error.js";
import { createProgram } from "./program.js";

export { type CliIo, processIo } from "./cli-io.js";

/**
 * Runs `switchyard <command> [flags]` (the command tree is in program.ts; a new subcommand such as
 * `hash-password` is registered there, not parsed here) and resolves with the exit code (see `EXIT` in
 * client/cli-error.ts; `serve` keeps its own: 0, or 1 for a bad config or a failed start).
 * `serve` resolves only after a signal and a graceful close.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const state = { code: EXIT.OK as number };
  const program = createProgram({ io, state });
  program.on("command:*", (operands: string[]) => {
    throw new UsageError(`unknown command "${operands[0]}" (see switchyard --help)`);
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`switchyard: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof CommanderError) {
      // --help and --version exit 0; a missing command prints the help to stderr; other errors
      // (unknown flag, bad value, missing argument) were printed by commander.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    throw e;
  }
  return state.code;
}
