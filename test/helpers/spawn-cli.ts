import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** The repository root (where package.json is). */
export const ROOT = new URL("../..", import.meta.url).pathname;

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A `switchyard` child process. */
export interface CliProcess {
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far. */
  stdout(): string;
  /** Resolves when stderr contains `text` (rejects if the process exits first or after `timeoutMs`). */
  waitForStderr(text: string, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit; SIGKILL after `timeoutMs` (default 15 s). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

/** A running server with its ready line parsed. */
export interface RunningCli extends CliProcess {
  /** The JSON of the ready line, whole (addresses plus `"auth":"off"` when auth is off). */
  ready: Record<string, string>;
  /** The bound address per listener (the ready line without its `auth` key). */
  addresses: Record<string, string>;
  /** `http://` + the rpc address. */
  baseUrl: string;
}

/** The arguments that make `switchyard serve` start every listener on port 0 (bridges off). */
export function testServeArgs(dataDir: string): string[] {
  const args = ["serve", "--port", "0", "--data-dir", dataDir, "--log-level", "info"];
  for (const flag of ["okq", "opq", "restmq", "ohpq", "ohpq-http", "gophermq", "gophermq-metrics"]) {
    args.push(`--${flag}-port`, "off");
  }
  return args;
}

/** Which script {@link spawnCli} runs. */
export interface SpawnOptions {
  /** Script relative to the repository root. Default `src/cli/main.ts`. */
  entry?: string;
  /** Run with `node --import tsx`. Default true; false to test the bin shim on its own. */
  importTsx?: boolean;
  /** Variables added to the environment (`undefined` removes one). */
  env?: Record<string, string | undefined>;
  /** Written to stdin, which is then closed. Default: stdin is /dev/null. */
  input?: string | Uint8Array;
}

/**
 * Spawns `node --import tsx src/cli/main.ts ...args` (see {@link SpawnOptions}) in the
 * repository root. The caller must make sure it ends (`stop`, or `exited`).
 */
export function spawnCli(args: readonly string[], options: SpawnOptions = {}): CliProcess {
  const entry = options.entry ?? "src/cli/main.ts";
  const nodeArgs = options.importTsx === false ? [] : ["--import", "tsx"];
  const env = { ...process.env, ...options.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [...nodeArgs, entry, ...args], {
    cwd: ROOT,
    env,
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (options.input !== undefined) {
    child.stdin?.on("error", () => {});
    child.stdin?.end(options.input);
  }
  let out = "";
  let err = "";
  const errListeners = new Set<() => void>();
  child.stdout?.setEncoding("utf8").on("data", (s: string) => {
    out += s;
  });
  child.stderr?.setEncoding("utf8").on("data", (s: string) => {
    err += s;
    for (const l of errListeners) l();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  return {
    child,
    exited,
    stderr: () => err,
    stdout: () => out,
    waitForStderr(text, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`no "${text}" on stderr within ${timeoutMs} ms:\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          if (err.includes(text)) done();
        };
        function done(e?: Error) {
          clearTimeout(timer);
          errListeners.delete(check);
          if (e) reject(e);
          else resolve();
        }
        errListeners.add(check);
        void exited.then(() => done(err.includes(text) ? undefined : new Error(`exited before "${text}":\n${err}`)));
        check();
      });
    },
    async stop(signal = "SIGTERM", timeoutMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Spawns `switchyard serve ...args` and resolves once it prints its ready line. Rejects (and
 * kills the child) if it exits first or prints nothing within `timeoutMs` (default 20 s).
 */
export async function startCli(
  args: readonly string[],
  options: Omit<SpawnOptions, "input"> & { timeoutMs?: number } = {},
): Promise<RunningCli> {
  const { timeoutMs: _timeoutMs, ...spawnOptions } = options;
  const proc = spawnCli(args, spawnOptions);
  const lines = createInterface({ input: proc.child.stdout as NodeJS.ReadableStream });
  try {
    const addresses = await new Promise<Record<string, string>>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? 20_000;
      const timer = setTimeout(
        () => reject(new Error(`no ready line within ${timeoutMs} ms:\n${proc.stderr()}`)),
        timeoutMs,
      );
      void proc.exited.then((exit) => {
        clearTimeout(timer);
        reject(new Error(`exited (${exit.code ?? exit.signal}) before it was ready:\n${proc.stderr()}`));
      });
      lines.on("line", (line) => {
        const m = /^switchyard ready (\{.*\})$/.exec(line);
        if (!m) return;
        clearTimeout(timer);
        resolve(JSON.parse(m[1] as string) as Record<string, string>);
      });
    });
    const { auth: _auth, ...listeners } = addresses;
    return { ...proc, ready: addresses, addresses: listeners, baseUrl: `http://${addresses.rpc}` };
  } catch (e) {
    await proc.stop("SIGKILL");
    throw e;
  }
}

/** Runs the CLI to completion (for commands that exit by themselves) within `timeoutMs`. */
export async function runCliToExit(
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnCli(args, options);
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr() };
}
