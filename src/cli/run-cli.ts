import { hashPassword } from "../auth/index.js";
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
  /** Subscribes to SIGHUP (reload the TLS certificate); returns the unsubscribe function. */
  onReload?: (handler: () => void) => () => void;
  /** All of stdin as text (`hash-password`). */
  readStdin?: () => Promise<string>;
}

/** Most bytes `hash-password` reads from stdin. */
const MAX_STDIN_BYTES = 64 * 1024;

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_STDIN_BYTES) throw new Error(`stdin holds more than ${MAX_STDIN_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
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
  onReload(handler) {
    process.on("SIGHUP", handler);
    return () => process.off("SIGHUP", handler);
  },
  readStdin: readProcessStdin,
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
  if (command === "hash-password") return hashPasswordCommand(rest, io);
  if (command !== "serve") {
    io.stderr(`switchyard: unknown command "${command}" (try: switchyard serve --help)\n`);
    return 1;
  }
  return serve(rest, io);
}

/**
 * `switchyard hash-password`: reads a password from stdin (one line; a trailing newline is not
 * part of it) and prints its scrypt hash for a user's `password_hash` in the config file.
 */
async function hashPasswordCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    io.stdout(HASH_PASSWORD_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    io.stderr(`switchyard hash-password: unexpected argument ${argv[0]} (the password is read from stdin)\n`);
    return 1;
  }
  let input: string;
  try {
    input = await (io.readStdin ?? readProcessStdin)();
  } catch (e) {
    io.stderr(`switchyard hash-password: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  const password = input.replace(/\r?\n$/, "");
  if (password === "" || /[\r\n]/.test(password)) {
    io.stderr("switchyard hash-password: give one non-empty password line on stdin\n");
    return 1;
  }
  io.stdout(`${await hashPassword(password)}\n`);
  return 0;
}

const HASH_PASSWORD_USAGE = `Usage: switchyard hash-password < password-file
       printf '%s' "$PASSWORD" | switchyard hash-password

Prints the scrypt hash of the password read from stdin (one line), for a user's
password_hash in the config file. The password is never an argument, so it stays out of
the shell history and the process list.
`;

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
  for (const note of loaded.notes) logger.info(note);
  const server = createBrokerServer(config, { logger });
  const stopReloads = io.onReload?.(() => {
    server.reloadTls().catch((e: unknown) => {
      logger.error("tls certificate not reloaded; the previous one stays", {
        error: e instanceof Error ? e.message : String(e),
      });
    });
  });

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
      const ready = server.authEnabled ? first.addresses : { ...first.addresses, auth: "off" };
      io.stdout(`switchyard ready ${JSON.stringify(ready)}\n`);
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
    stopReloads?.();
    if (signals === 0) unsubscribe();
  }
}
