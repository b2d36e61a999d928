/** Where the CLI reads and writes and which process signals it listens to; injectable for tests. */
export interface CliIo {
  /** Writes to stdout; false when the stream is full (wait for {@link CliIo.drain}). */
  stdout: (text: string | Uint8Array) => boolean | undefined;
  stderr: (text: string) => void;
  /** Resolves when stdout can take more after a write returned false. */
  drain: () => Promise<void>;
  /** Standard input (`pub` reads data from it). */
  stdin: () => NodeJS.ReadableStream;
  /** Whether stdin and stderr are terminals (prompts, progress lines, log format). */
  isTTY: { stdin: boolean; stderr: boolean };
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => () => void;
  /** Ends the process at once (a second signal). */
  exit: (code: number) => never;
  /** Subscribes to SIGHUP (`serve` reloads the TLS certificate); returns the unsubscribe function. */
  onReload?: (handler: () => void) => () => void;
}

/** The real process. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => {
    process.stderr.write(text);
  },
  drain: () =>
    new Promise((resolve) => {
      const done = () => {
        process.stdout.off("drain", done);
        process.stdout.off("close", done);
        resolve();
      };
      process.stdout.once("drain", done);
      process.stdout.once("close", done);
    }),
  stdin: () => process.stdin,
  isTTY: { stdin: process.stdin.isTTY === true, stderr: process.stderr.isTTY === true },
  onSignal(handler) {
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    };
  },
  exit: (code) => process.exit(code),
  onReload(handler) {
    process.on("SIGHUP", handler);
    return () => process.off("SIGHUP", handler);
  },
};

/** Writes to stdout and waits for it to drain when it is full (bounded memory for streams). */
export async function writeOut(io: CliIo, chunk: string | Uint8Array): Promise<void> {
  if (io.stdout(chunk) === false) await io.drain();
}
