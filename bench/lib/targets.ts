/**
 * The targets of a run: Switchyard, and with --peers the peer targets, loaded by dynamic import so
 * the suite runs before (or without) their modules. A peer that is missing or fails to load is
 * reported with one line and skipped, never silently.
 */
import { spawnSync } from "node:child_process";
import type { StartTarget } from "../targets/target.js";

/** A target the suite can start. */
export interface TargetSpec {
  name: string;
  /** Module under bench/targets/ and its export. */
  module: string;
  exportName: string;
}

/** Switchyard first (the reference of the ratios), then the peers. */
export const TARGET_SPECS: readonly TargetSpec[] = [
  { name: "switchyard", module: "switchyard", exportName: "startSwitchyard" },
  { name: "redis-always", module: "redis", exportName: "startRedisAlways" },
  { name: "redis-everysec", module: "redis", exportName: "startRedisEverysec" },
  { name: "rabbitmq", module: "rabbitmq", exportName: "startRabbitMq" },
  { name: "nats", module: "nats", exportName: "startNats" },
];

/** A loaded target, or why it is skipped. */
export type LoadedTarget = { name: string; start: StartTarget } | { name: string; skipped: string };

/** Imports `spec.module` and returns its `exportName`, or the reason it cannot. */
export async function loadTarget(spec: TargetSpec): Promise<LoadedTarget> {
  // A .ts URL: tsx loads it; a variable specifier keeps tsc from requiring the module to exist.
  const url = new URL(`../targets/${spec.module}.ts`, import.meta.url).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const missing =
      (e as { code?: string }).code === "ERR_MODULE_NOT_FOUND" && firstLine(e).includes(`targets/${spec.module}.ts`);
    const reason = missing ? `bench/targets/${spec.module}.ts does not exist yet` : `cannot load: ${firstLine(e)}`;
    return { name: spec.name, skipped: reason };
  }
  const start = mod[spec.exportName];
  if (typeof start !== "function") {
    return { name: spec.name, skipped: `bench/targets/${spec.module}.ts has no export ${spec.exportName}` };
  }
  return { name: spec.name, start: start as StartTarget };
}

/** The first line of an error's message. */
export function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "";
}

/** Longest time the peer install (apt-get) may take. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;

/**
 * Runs bench/peers/install.sh once: as root on a machine without the peers it installs them from
 * Debian's packages (without starting their services); otherwise it says what is missing. A
 * failure is logged, and the peers that cannot start are then skipped with their own reason.
 */
export function ensurePeersInstalled(log: (line: string) => void): void {
  const script = new URL("../peers/install.sh", import.meta.url).pathname;
  const r = spawnSync("bash", [script], { stdio: ["ignore", "pipe", "pipe"], timeout: INSTALL_TIMEOUT_MS });
  const out = `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`.trim();
  if (r.status === 0) log(`bench: ${out.split("\n").pop() ?? "peers installed"}`);
  else log(`bench: installing the peers failed (${r.error ? firstLine(r.error) : `exit ${r.status}`}): ${out}`);
}
