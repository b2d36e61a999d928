import type { Command } from "commander";
import type { CliIo } from "../cli-io.js";
import { describeFailure, EXIT, renderFailure } from "./cli-error.js";
import { type CliClients, type ConnectionFlags, connect, resolveConnectionFlags } from "./connection.js";

/** The exit code of one CLI run; client actions set it. */
export interface ExitState {
  code: number;
}

/** What a client command's action gets. */
export interface ClientContext {
  io: CliIo;
  clients: CliClients;
  /** `--json`. */
  json: boolean;
  /**
   * Aborted by the first SIGINT/SIGTERM: a streaming command (`sub`, `read --follow`, `pub
   * --count`) stops cleanly, finishes what it holds (acks) and exits 0; a unary call is cut short
   * (exit 130). A second signal exits 130 at once.
   */
  signal: AbortSignal;
}

/** A client command's body: its options (connection flags included) and positional arguments. */
export type ClientBody<O> = (ctx: ClientContext, options: O & ConnectionFlags, args: string[]) => Promise<void>;

/**
 * Wraps a client command's body as a commander action: connects with the connection flags,
 * runs the body, and turns a failure into its message (with the server's reason) on stderr and
 * an exit code ({@link EXIT}) in `state`.
 */
export function clientAction<O>(io: CliIo, state: ExitState, body: ClientBody<O>) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const options = resolveConnectionFlags<O>(command);
    const args = params
      .slice(0, -2)
      .flatMap((p) => (Array.isArray(p) ? p.map(String) : p === undefined ? [] : [String(p)]));
    const stop = new AbortController();
    let signals = 0;
    const unsubscribe = io.onSignal(() => {
      signals++;
      if (signals > 1) io.exit(130);
      stop.abort();
    });
    let clients: CliClients | undefined;
    try {
      clients = connect(options);
      await body({ io, clients, json: options.json === true, signal: stop.signal }, options, args);
      state.code = EXIT.OK;
    } catch (e) {
      if (stop.signal.aborted) {
        // A call cut short by Ctrl-C: not a failure of the broker's.
        io.stderr("switchyard: interrupted\n");
        state.code = EXIT.INTERRUPTED;
        return;
      }
      const failure = describeFailure(e);
      if (
        failure.exitCode === EXIT.UNAVAILABLE &&
        clients &&
        /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(failure.message)
      ) {
        failure.message = `cannot reach the broker at ${clients.server}: ${failure.message}`;
      }
      io.stderr(renderFailure(failure, options.json === true));
      state.code = failure.exitCode;
    } finally {
      unsubscribe();
      clients?.close();
    }
  };
}
