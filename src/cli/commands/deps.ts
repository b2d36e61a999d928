import type { CliIo } from "../cli-io.js";
import type { ExitState } from "../client/action.js";

/** What every command builder gets: the process io and the run's exit state. */
export interface CommandDeps {
  io: CliIo;
  state: ExitState;
}
