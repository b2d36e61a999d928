/**
 * The Switchyard broker as a child process, started the way `npm start` starts it: `node
 * [BENCH_BROKER_NODE_FLAGS] bin/switchyard.js serve --port 0 --data-dir D` (the compiled bundle,
 * rebuilt first if a source changed) with every bridge off, started once its ready line is printed.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { ROOT, testServeArgs } from "../../test/helpers/spawn-cli.js";
import { trackChild } from "./children.js";
import { withTimeout } from "./time.js";

/** A running broker child. */
export interface BrokerProcess {
  pid: number;
  /** `http://127.0.0.1:<port>` of the RPC listener. */
  baseUrl: string;
  /** The ready line's bound address per listener (`rpc`, and `okq` when started with `--okq-port`). */
  addresses: Record<string, string>;
  /** The last 16 KiB of stderr (for error messages). */
  stderrTail(): string;
  /** SIGTERM (graceful: a --cpu-prof profile is written), SIGKILL after `timeoutMs`; resolves on exit. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Extra node flags for the broker, from the environment variable BENCH_BROKER_NODE_FLAGS
 * (space-separated, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
export function brokerNodeFlags(): string[] {
  return (process.env.BENCH_BROKER_NODE_FLAGS ?? "").split(/\s+/).filter((f) => f !== "");
}

/**
 * Extra CLI flags for the broker, from the environment variable BENCH_BROKER_ARGS (space-separated,
 * e.g. `--lean-rpc off` to measure every call through connect-node).
 */
export function brokerExtraArgs(): string[] {
  return (process.env.BENCH_BROKER_ARGS ?? "").split(/\s+/).filter((f) => f !== "");
}

/** Starts a broker on loopback with data in `dataDir`; rejects (and kills it) if not ready in `timeoutMs`. */
export async function startBrokerProcess(dataDir: string, extraArgs: readonly string[] = []): Promise<BrokerProcess> {
  const args = testServeArgs(dataDir).map((a) => (a === "info" ? "warn" : a));
  const child = spawn(
    process.execPath,
    [...brokerNodeFlags(), "bin/switchyard.js", ...args, "--host", "127.0.0.1", ...brokerExtraArgs(), ...extraArgs],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  trackChild(child);
  let tail = "";
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    tail = (tail + s).slice(-16_384);
  });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const stop = async (timeoutMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    const lines = createInterface({ input: child.stdout });
    const ready = new Promise<Record<string, string>>((resolve, reject) => {
      lines.on("line", (line) => {
        const m = /^switchyard ready (\{.*\})$/.exec(line);
        if (m) resolve(JSON.parse(m[1] as string) as Record<string, string>);
      });
      void exited.then(() => reject(new Error(`broker exited before it was ready:\n${tail}`)));
    });
    const addresses = await withTimeout(ready, 30_000, "broker start");
    return { pid: child.pid as number, baseUrl: `http://${addresses.rpc}`, addresses, stderrTail: () => tail, stop };
  } catch (e) {
    await stop(0);
    throw e;
  }
}
