import { Command } from "commander";
import { EXIT } from "./client/cli-error.js";
import { addGlobalConnectionOptions, DEFAULT_SERVER } from "./client/connection.js";
import type { CommandDeps } from "./commands/deps.js";
import { dlqCommand } from "./commands/dlq.js";
import { hashPasswordCommand } from "./commands/hash-password.js";
import { pubCommand } from "./commands/pub.js";
import { pullCommands } from "./commands/pull.js";
import { readCommand, seekCommand, snapshotsCommand } from "./commands/replay.js";
import { statsCommand } from "./commands/stats.js";
import { subCommand } from "./commands/sub.js";
import { subsCommand } from "./commands/subs.js";
import { topicsCommand } from "./commands/topics.js";
import { serveCommand } from "./serve.js";

const AFTER_HELP = `
Client commands talk to a running broker (their flags go before or after the command):
--server URL (default ${DEFAULT_SERVER}, or
SWITCHYARD_SERVER); --user/--password (SWITCHYARD_USER, SWITCHYARD_PASSWORD) or --token
(SWITCHYARD_TOKEN) when auth is on. Human output by default, --json for scripts.

Exit codes of client commands:
  ${EXIT.OK}  done
  ${EXIT.FAILED}  the server failed the call (internal error, …)
  ${EXIT.USAGE}  bad command line (nothing was sent)
  ${EXIT.UNAVAILABLE}  the broker is unreachable or unavailable
  ${EXIT.NOT_FOUND}  not found
  ${EXIT.INVALID}  the server refused the values
  ${EXIT.CONFLICT}  conflict or wrong state (already exists, already acked, …)
  ${EXIT.LIMIT}  a limit was reached (topic full, message too large, …)
  ${EXIT.DENIED}  not logged in, or not allowed
  ${EXIT.INTERRUPTED}  interrupted during a call (sub, read --follow and pub stop cleanly with 0)
Errors print the server's stable reason in brackets, e.g. [TOPIC_NOT_FOUND] (docs/errors.md).

Run "switchyard COMMAND --help" for a command's flags.`;

/**
 * The `switchyard` command tree. `serve` runs the broker; every other command is a client of
 * a running broker over the generated Connect clients (src/cli/commands). A new top-level
 * command is one more entry in the list below.
 */
export function createProgram(deps: CommandDeps): Command {
  const program = new Command("switchyard")
    .description("Switchyard, a durable message broker: the server (serve) and a client for operators")
    .enablePositionalOptions()
    .addHelpText("after", AFTER_HELP);
  addGlobalConnectionOptions(program);
  const commands: Command[] = [
    serveCommand(deps),
    // Commands that need no broker.
    hashPasswordCommand(deps),
    topicsCommand(deps),
    subsCommand(deps),
    statsCommand(deps),
    pubCommand(deps),
    subCommand(deps),
    ...pullCommands(deps),
    readCommand(deps),
    seekCommand(deps),
    snapshotsCommand(deps),
    dlqCommand(deps),
  ];
  for (const command of commands) program.addCommand(command);
  configureTree(program, deps.io);
  return program;
}

/** Every command of the tree: errors through `io`, no process.exit (runCli maps exit codes). */
function configureTree(command: Command, io: CommandDeps["io"]): void {
  command
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        io.stdout(text);
      },
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`switchyard: ${text.replace(/^error: /, "")}`),
    })
    .showHelpAfterError(`(run "${commandPath(command)} --help" for usage)`);
  for (const sub of command.commands) configureTree(sub, io);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
