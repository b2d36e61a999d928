import { Command } from "commander";
import { ConfigError, loadConfig } from "../config/index.js";
import { createBrokerServer } from "../server/index.js";
import { createLogger } from "../util/index.js";
import type { CliIo } from "./cli-io.js";
import type { CommandDeps } from "./commands/deps.js";
import { limitHeapGrowth } from "./heap-growth.js";
import { SERVE_USAGE } from "./serve-usage.js";

/**
 * `switchyard serve [flags]`: the broker. Its flags are the config settings (src/config), parsed
 * by the config loader, which the config file shares; commander only routes to it, and
 * `switchyard help serve` / `serve --help` print {@link SERVE_USAGE}.
 */
export function serveCommand({ io, state }: CommandDeps): Command {
  const command = new Command("serve")
    .description("run the broker (see: switchyard serve --help)")
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .configureHelp({ formatHelp: () => SERVE_USAGE });
  return command.action(async () => {
    state.code = await serve(command.args, io);
  });
}

/**
 * Exit code after the store failed (sysexits' EX_TEMPFAIL): a supervisor restarts the broker,
 * which then runs on what is really on disk.
 */
export const STORE_FAILED_EXIT = 75;

/**
 * Runs the broker until SIGINT/SIGTERM; resolves with the exit code: 0 after a graceful close,
 * 1 for a bad config, a failed start (port in use, …) or an error while closing. A second signal
 * exits 1 at once. When the store fails, it closes and resolves {@link STORE_FAILED_EXIT}.
 * SIGHUP reloads the TLS certificate and key (a pair that does not load is logged and the old
 * one stays).
 */
export async function serve(argv: readonly string[], io: CliIo): Promise<number> {
  let loaded: Awaited<ReturnType<typeof loadConfig>>;
  try {
    loaded = await loadConfig(argv);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(`switchyard: ${e.message}\n`);
    return 1;
  }
  if (loaded.help) {
    io.stdout(SERVE_USAGE);
    return 0;
  }
  const { config } = loaded;
  limitHeapGrowth();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
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
    logger.info(`${signal} received; shutting down (send it again to exit at once)`, { signal });
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
    let storeFailed = false;
    if (first) {
      const ready = server.authEnabled ? first.addresses : { ...first.addresses, auth: "off" };
      io.stdout(`switchyard ready ${JSON.stringify(ready)}\n`);
      const ended = await Promise.race([stop.then(() => undefined), server.storeFailed]);
      if (ended !== undefined) {
        storeFailed = true;
        io.stderr(`switchyard: the store failed (${ended.message}); stopping with exit code ${STORE_FAILED_EXIT}\n`);
      }
    }
    try {
      await server.close();
      return storeFailed ? STORE_FAILED_EXIT : 0;
    } catch (e) {
      if (storeFailed) return STORE_FAILED_EXIT;
      io.stderr(`switchyard: error during shutdown: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
  } finally {
    stopReloads?.();
    if (signals === 0) unsubscribe();
  }
}
