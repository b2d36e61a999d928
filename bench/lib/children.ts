/**
 * Child processes and cleanups of the benchmark process. Every broker child is registered here, and
 * is killed when the process exits, on SIGINT/SIGTERM, and on an uncaught error.
 */
import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";

const children = new Set<ChildProcess>();
const cleanups = new Set<() => Promise<void>>();

/** Registers `child` to be SIGKILLed if the bench process ends while it runs. */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Registers an async cleanup (e.g. stopping a peer target) run on SIGINT/SIGTERM; returns its remover. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}

let installed = false;

/** Installs the exit and signal handlers (once). On a signal: cleanups (5 s at most), kill, exit 130. */
export function installExitHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("exit", killAll);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      killAll();
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\nbench: ${signal}, stopping brokers\n`);
    const all = Promise.allSettled([...cleanups].map((c) => c()));
    void Promise.race([all, sleep(5000)]).finally(() => {
      killAll();
      process.exit(130);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
