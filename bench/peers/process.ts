/**
 * Process helpers for the peer brokers (Redis, RabbitMQ, NATS): find a free loopback port, spawn
 * a server with its output in a log file, wait until it accepts connections, stop it by the PID
 * we started, run short CLI commands with a time limit, and remove its data. Every wait is
 * bounded. Children still alive when the benchmark process exits are killed by PID.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { access, constants, mkdir, mkdtemp, rm, rmdir } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { delimiter, dirname, join } from "node:path";

/** Peers started by this process and not yet stopped; killed if the process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of live) {
      try {
        if (child.pid !== undefined) process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1 (asked from the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("could not allocate a free port"));
      });
    });
  });
}

/** Finds `command` on PATH (or checks an absolute path); throws naming the install script if missing. */
export async function requireBinary(peer: string, command: string): Promise<string> {
  const candidates = command.includes("/")
    ? [command]
    : [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"].map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`${peer}: ${command} not found; install it with bench/peers/install.sh`);
}

/** Creates a fresh directory for one peer instance under `dataDir` (which is created if needed). */
export async function makePeerDir(dataDir: string, peer: string): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  return mkdtemp(join(dataDir, `${peer}-`));
}

/**
 * Removes a peer directory created by {@link makePeerDir} (bounded retries for busy files), then
 * the `dataDir` it was created in if that is now empty (rmdir: never removes anything else).
 */
export async function removePeerDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  await rmdir(dirname(dir)).catch(() => undefined);
}

/** A server process started by {@link spawnPeer}. */
export interface PeerProcess {
  /** PID of the spawned process. */
  readonly pid: number;
  /** True once the process has exited. */
  exited(): boolean;
  /** Resolves when the process exits, or after `timeoutMs` (then `false`). */
  waitForExit(timeoutMs: number): Promise<boolean>;
  /** The last lines of the process log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited (bounded). */
  stop(graceMs?: number): Promise<void>;
}

/** Options of {@link spawnPeer}. */
export interface SpawnPeerOptions {
  /** Peer name for error messages. */
  peer: string;
  command: string;
  args: readonly string[];
  /** Environment (defaults to this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** File receiving the process's stdout and stderr. */
  logFile: string;
}

/** Spawns a server process with stdout/stderr in `logFile`; throws if it cannot be started. */
export async function spawnPeer(options: SpawnPeerOptions): Promise<PeerProcess> {
  installExitHook();
  const fd = openSync(options.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", (error) =>
      reject(new Error(`${options.peer}: cannot start ${options.command}: ${error.message}`)),
    );
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.peer}: ${options.command} started without a pid`);
  live.add(child);
  let hasExited = false;
  const exit = new Promise<void>((resolve) => {
    child.once("exit", () => {
      hasExited = true;
      live.delete(child);
      resolve();
    });
  });
  const waitForExit = async (timeoutMs: number): Promise<boolean> => {
    if (hasExited) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([exit.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    pid,
    exited: () => hasExited,
    waitForExit,
    logTail: (lines = 20) => tailFile(options.logFile, lines),
    async stop(graceMs = 10_000) {
      if (hasExited) return;
      child.kill("SIGTERM");
      if (await waitForExit(graceMs)) return;
      child.kill("SIGKILL");
      if (!(await waitForExit(5_000))) throw new Error(`${options.peer}: pid ${pid} did not exit after SIGKILL`);
    },
  };
}

/** The last `lines` lines of a file ("" if unreadable). */
export function tailFile(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** True if a TCP connection to 127.0.0.1:`port` succeeds within `timeoutMs`. */
export function canConnect(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * Calls `probe` until it resolves true, the process exits, or `timeoutMs` passes; throws a clear
 * error with the end of the process log otherwise.
 */
export async function waitUntil(
  peer: string,
  proc: PeerProcess,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = "";
  while (Date.now() < deadline) {
    if (proc.exited()) throw new Error(`${peer}: server exited during startup\n${proc.logTail()}`);
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(100);
  }
  throw new Error(`${peer}: not ready after ${timeoutMs} ms${lastError ? ` (${lastError})` : ""}\n${proc.logTail()}`);
}

/** Result of {@link runCommand}. */
export interface CommandResult {
  code: number | null;
  output: string;
}

/** Runs a short command with a time limit (killed by its PID on timeout); collects stdout+stderr. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * Resolves or rejects like `promise`, or rejects after `timeoutMs` with `${what} timed out`;
 * `onLate` receives the value if it arrives after the timeout (e.g. to close a late connection).
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
  onLate?: (value: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${what} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
  });
  promise.then(
    (value) => {
      if (timedOut) onLate?.(value);
    },
    () => undefined,
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
