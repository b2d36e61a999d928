import { Readable } from "node:stream";
import type { CliIo } from "../../src/cli/cli-io.js";
import { runCli } from "../../src/cli/run-cli.js";

/** The result of one CLI run. */
export interface CliRun {
  code: number;
  stdout: string;
  /** stdout as bytes (for binary data). */
  stdoutBytes: Buffer;
  stderr: string;
}

/** Options of {@link runCliInProcess}. */
export interface InProcessOptions {
  /** What stdin holds (default: empty, not a terminal). */
  input?: string | Uint8Array;
  /** Called with a function that delivers SIGINT to the run (for streaming commands). */
  onStart?: (signal: () => void) => void;
  /** Called with the stdout text so far after each write (to wait for output). */
  onStdout?: (text: string) => void;
}

/**
 * Runs `switchyard ...argv` in this process through `runCli` (what bin/switchyard.js runs), with
 * captured stdout/stderr and an injected stdin and signals. The commands talk to the broker over
 * real sockets; only the process boundary is skipped (tests/integration/cli-*.test.ts spawn the
 * real binary where the boundary matters: exit codes, pipes, signals).
 */
export async function runCliInProcess(argv: readonly string[], options: InProcessOptions = {}): Promise<CliRun> {
  const out: Buffer[] = [];
  let err = "";
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  const io: CliIo = {
    stdout(text) {
      out.push(Buffer.from(text));
      options.onStdout?.(Buffer.concat(out).toString("utf8"));
      return true;
    },
    stderr(text) {
      err += text;
    },
    drain: async () => {},
    stdin: () => Readable.from(options.input === undefined ? [] : [Buffer.from(options.input)]),
    isTTY: { stdin: false, stderr: false },
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    exit(code) {
      throw new Error(`the CLI asked to exit(${code}) at once`);
    },
  };
  options.onStart?.(() => {
    for (const h of [...handlers]) h("SIGINT");
  });
  const code = await runCli(argv, io);
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString("utf8"), stdoutBytes, stderr: err };
}
