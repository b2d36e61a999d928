import { ConfigError, loadConfig } from "../config/index.js";
import { createBrokerServer } from "../server/index.js";
import { createStderrLogger } from "../util/index.js";
import { USAGE } from "./usage.js";

/** Where the CLI writes and which process signals it listens to; injectable for tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Subscribes to SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal: (handler: (signal: NodeJS.Signals) => void) => () => void;
  /** Ends the process at once (a second signal). */
  exit: (code: number) => never;
}

/** The real process. */
export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  onSignal(handler) {
    process.on("SIGINT", handler);
    process.on("SIGTERM", handler);
    return () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    };
  },
  exit: (code) => process.exit(code),
};

/**
 * Runs `switchyard <command> [flags]` and resolves with the exit code. `serve` resolves only
 * after a signal and a graceful close.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    (command === undefined ? io.stderr : io.stdout)(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command !== "serve") {
    io.stderr(`switchyard: unknown command "${command}" (try: switchyard serve --help)\n`);
    return 1;
  }
  return serve(rest, io);
}

async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`switchyard: ${e.message}\n`);
    return 1;
  }
  if (loaded.help) {
    io.stdout(USAGE);
    return 0;
  }
  const { config } = loaded;
  const logger = createStderrLogger(config.logLevel);
  const server = createBrokerServer(config, { logger });

  let stopRequested: (signal: NodeJS.Signals) => void = () => {};
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    stopRequested = resolve;
  });
  let signals = 0;
  const unsubscribe = io.onSignal((signal) => {
    signals++;
    if (signals > 1) {
      io.stderr(`switchyard: ${signal} again, exiting now\n`);
      io.exit(1);
    }
    logger.info(`${signal} received; shutting down (send it again to exit at once)`);
    stopRequested(signal);
  });
  try {
    const started = server.start().then(
      (addresses) => ({ addresses }),
      (error: unknown) => ({ error }),
    );
    const first = await Promise.race([started, stop.then(() => undefined)]);
    if (first && "error" in first) {
      const message = first.error instanceof Error ? first.error.message : String(first.error);
      io.stderr(`switchyard: ${message}\n`);
      return 1;
    }
    if (first) {
      io.stdout(`switchyard ready ${JSON.stringify(first.addresses)}\n`);
      await stop;
    }
    try {
      await server.close();
      return 0;
    } catch (e) {
      io.stderr(`switchyard: error during shutdown: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  } finally {
    if (signals === 0) unsubscribe();
  }
}
