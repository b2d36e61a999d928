/**
 * The property-fuzzing harness (README "Fuzzing"): each fuzzer is a fast-check property over one
 * parser or session of the broker, run in rounds; between rounds its target drops what the cases
 * stored (so the broker's own data does not count) and the heap is measured, so a leak per case
 * shows as growth across rounds. `npm run fuzz` runs every fuzzer at full size (1M cases);
 * test/fuzz/short.test.ts runs each briefly inside `npm test`.
 */
import fc from "fast-check";

/** A running target: the property to check, and how to drop state between rounds. */
export interface FuzzTarget {
  // biome-ignore lint/suspicious/noExplicitAny: fast-check's property types are generic over their arbitraries
  property: fc.IAsyncProperty<any> | fc.IProperty<any>;
  /** Drops what the cases stored (topics, queues), so the next heap sample measures leaks only. */
  reset?(): Promise<void>;
  close(): Promise<void>;
}

/** One fuzzer: a name for `--only`, and its target factory. */
export interface Fuzzer {
  readonly name: string;
  /** What it feeds and what every case must satisfy. */
  readonly description: string;
  start(): Promise<FuzzTarget>;
}

/** Options of {@link runFuzzer}. */
export interface FuzzRunOptions {
  /** Cases in all. */
  runs: number;
  /** Rounds the cases are split into (heap sampled after each). Default 10, or 1 below 10,000 runs. */
  rounds?: number;
  /** fast-check seed of the first round (the next rounds add 1 each). Default: random. */
  seed?: number;
  /** Fail when the heap grows more than this between the first and the last round (runs ≥ 100,000 only). Default 64 MiB. */
  maxHeapGrowthBytes?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** What a run found. */
export interface FuzzResult {
  name: string;
  runs: number;
  seed: number;
  durationMs: number;
  /** Heap in use after each round (after a GC when `--expose-gc` is on), in bytes. */
  heapAfterRounds: number[];
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/**
 * Runs `fuzzer` for `runs` cases. Throws fast-check's report (seed, path and the shrunk
 * counterexample) on the first failing case, or an Error when the heap grows past its bound.
 */
export async function runFuzzer(fuzzer: Fuzzer, options: FuzzRunOptions): Promise<FuzzResult> {
  const rounds = Math.max(1, Math.min(options.runs, options.rounds ?? (options.runs < 10_000 ? 1 : 10)));
  const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const target = await fuzzer.start();
  const started = performance.now();
  const heap: number[] = [];
  // Cases wait on unref'd timers (AbortSignal.timeout, the system clock): keep the loop alive.
  const keepAlive = setInterval(() => {}, 1_000);
  try {
    let done = 0;
    for (let round = 0; round < rounds; round++) {
      const numRuns = Math.floor((options.runs * (round + 1)) / rounds) - done;
      await fc.assert(target.property, { numRuns, seed: seed + round, endOnFailure: false });
      done += numRuns;
      await target.reset?.();
      heap.push(heapUsed());
      options.log?.(
        `${fuzzer.name}: ${done}/${options.runs} cases, ${Math.round(performance.now() - started)} ms, heap ${(heap[round] as number) >> 20} MiB`,
      );
    }
  } finally {
    clearInterval(keepAlive);
    await target.close();
  }
  const growth = (heap[heap.length - 1] as number) - (heap[0] as number);
  const maxGrowth = options.maxHeapGrowthBytes ?? 64 * 1024 * 1024;
  if (options.runs >= 100_000 && growth > maxGrowth) {
    throw new Error(
      `${fuzzer.name}: the heap grew ${growth >> 20} MiB over ${options.runs} cases (bound ${maxGrowth >> 20} MiB)`,
    );
  }
  return {
    name: fuzzer.name,
    runs: options.runs,
    seed,
    durationMs: performance.now() - started,
    heapAfterRounds: heap,
  };
}

/** Splits `bytes` at the given cut points (taken modulo its length), in order. */
export function chunked(bytes: Uint8Array, cuts: readonly number[]): Buffer[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const points = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(b.subarray(prev, p));
    prev = p;
  }
  out.push(b.subarray(prev));
  return out.filter((c) => c.length > 0);
}

/** Applies byte-level mutations (flip, insert, delete, truncate) to valid input. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.tuple(fc.constantFrom("flip", "insert", "delete", "truncate", "dup"), fc.nat(), fc.nat(255));
  return fc.tuple(valid, fc.array(edit, { maxLength: 4 })).map(([bytes, edits]) => {
    let b = Buffer.from(bytes);
    for (const [kind, at, value] of edits) {
      if (b.length === 0) break;
      const i = at % b.length;
      if (kind === "flip") b[i] = (b[i] as number) ^ (1 << (value % 8));
      else if (kind === "insert") b = Buffer.concat([b.subarray(0, i), Buffer.of(value), b.subarray(i)]);
      else if (kind === "delete") b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
      else if (kind === "truncate") b = b.subarray(0, i);
      else b = Buffer.concat([b.subarray(0, i), b.subarray(0, i), b.subarray(i)]);
    }
    return new Uint8Array(b);
  });
}

/**
 * Resolves when `cond` holds, checked at once and on each `event` of `emitter` (data arriving, a
 * close), rejects after `timeoutMs`.
 */
export function whenEvent(
  emitter: NodeJS.EventEmitter,
  events: readonly string[],
  cond: () => boolean,
  what: () => string,
  timeoutMs = 5_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!cond()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what()}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      for (const e of events) emitter.off(e, check);
    };
    for (const e of events) emitter.on(e, check);
    check();
  });
}

/** Resolves when `cond` holds (polled), rejects after `timeoutMs`. */
export async function until(cond: () => boolean, what: () => string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let turns = 0; !cond(); turns++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    // A few event-loop turns first (in-process answers come fast), then 1 ms sleeps.
    await new Promise((r) => (turns < 50 ? setImmediate(r) : setTimeout(r, 1)));
  }
}
