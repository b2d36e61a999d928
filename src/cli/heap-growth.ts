import { setFlagsFromString } from "node:v8";

/**
 * How far V8 lets the broker's old generation grow past what a full collection left alive, in
 * percent: after each one, the next is due at (1 + this / 100) times the live size. V8's own
 * factor is dynamic, up to 4× when collections are fast, and the broker's are: with ~20 MiB of
 * JavaScript alive (a heap snapshot after W2) its heap stood at 90–120 MiB, and the ArrayBuffers
 * that died meanwhile (request bodies, encoded deliveries: malloc'd memory, freed only when a
 * collection finds them dead) held malloc's heap at ~65 MiB (bench/tools/mem-probe.mjs).
 * 200 (3×) cut the broker's anonymous memory by ~25 MiB at W2's and W4's peaks (−16 %) with no
 * CPU cost per message in W2 and W4 over 9 alternating rounds; 100 cut ~60 MiB but cost 20–35 % more CPU per
 * message in W2 and W4, 50 more still.
 */
export const BROKER_HEAP_GROWING_PERCENT = 200;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * The V8 flag `serve` sets for its own process, or null when node was started with
 * `--heap-growing-percent` (in its arguments or NODE_OPTIONS): the operator's value stands, and
 * `--heap-growing-percent=0` gives V8's own factor back.
 */
export function heapGrowingFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | null {
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((a) => FLAG.test(a));
  return given ? null : `--heap-growing-percent=${BROKER_HEAP_GROWING_PERCENT}`;
}

/**
 * Applies {@link heapGrowingFlag} to this process. V8 reads the flag at each collection, so
 * setting it at start-up works like passing it to node. Returns the flag set, or null.
 */
export function limitHeapGrowth(): string | null {
  const flag = heapGrowingFlag(process.execArgv, process.env.NODE_OPTIONS);
  if (flag !== null) setFlagsFromString(flag);
  return flag;
}
