/**
 * What one KV write costs, by thread: writes of one 1.1 KB put each, `perTurn` of them per event
 * turn (1: every write its own LMDB transaction, as W3's Publish calls mostly are; 20: many writes
 * share one), through the store's engine (`LmdbKv` behind `FailSafeKv`, as the store runs it), or
 * straight through lmdb-js (`childTransaction` + `putSync`, what `LmdbKv` does underneath), so the
 * difference is the engine's own cost; `batch`: lmdb-js's `batch` of asynchronous puts (no callback
 * into the main thread inside the transaction). Per round: process CPU per write, split into the main
 * thread and the others (lmdb-js's write thread, V8's), from `/proc/self/task/<tid>/stat`
 * (10 ms ticks: use enough writes).
 *
 *   node --import tsx bench/tools/kv-write-cost.ts [engine|lmdb|batch] [flush|none] [perTurn=1] [writes=3000] [rounds=3] [commitDelayMs]
 */
import { readdirSync, readFileSync } from "node:fs";
import { open } from "lmdb";
import { FailSafeKv } from "../../src/store/kv/fail-safe-kv.js";
import type { KvWriter } from "../../src/store/kv/kv.js";
import { LmdbKv } from "../../src/store/kv/lmdb-kv.js";
import { makeTempDir, removeDir } from "../lib/tempdir.js";

const mode = process.argv[2] ?? "engine";
const durability = process.argv[3] === "none" ? "none" : "flush";
const perTurn = Number(process.argv[4] ?? 1);
const writes = Number(process.argv[5] ?? 3000);
const rounds = Number(process.argv[6] ?? 3);
/** The engine's `--commit-delay-ms` (default: its default). */
const commitDelayMs = process.argv[7] === undefined ? undefined : Number(process.argv[7]);
const VALUE = Buffer.alloc(1100, 7);
const CLOCK_TICK_US = 10_000;

/** The one thing a round needs: a write of one put, answered once committed (and synced). */
interface Target {
  write(fn: (w: Pick<KvWriter, "put">) => void): Promise<unknown>;
  close(): Promise<unknown>;
}

function engineTarget(dir: string): Target {
  const delay = commitDelayMs === undefined ? {} : { commitDelayMs };
  return new FailSafeKv(LmdbKv.open({ path: dir, durability, mapSizeBytes: 1 << 30, ...delay }));
}

function lmdbTarget(dir: string): Target {
  const db = open<Buffer, Buffer>({
    path: dir,
    keyEncoding: "binary",
    encoding: "binary",
    noSync: durability === "none",
    compression: false,
  });
  const writer = {
    put(key: Buffer, value: Buffer) {
      db.putSync(key, value);
    },
  };
  if (mode === "batch") {
    // The puts as lmdb-js's asynchronous instructions of one block: no callback on the main
    // thread inside the write transaction.
    const queued = { put: (key: Buffer, value: Buffer) => void db.put(key, value) };
    return { write: (fn) => db.batch(() => fn(queued)), close: () => db.close() };
  }
  return { write: (fn) => db.childTransaction(() => fn(writer)), close: () => db.close() };
}

/** CPU microseconds (user + system) of each thread of this process: "main" and "other". */
function threadCpuUs(): { main: number; other: number } {
  const out = { main: 0, other: 0 };
  for (const tid of readdirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const us = (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_US;
    if (tid === String(process.pid)) out.main += us;
    else out.other += us;
  }
  return out;
}

let seq = 0;
function nextKey(): Buffer {
  const k = Buffer.allocUnsafe(9);
  k[0] = 1;
  k.writeDoubleBE(++seq, 1);
  return k;
}

const dir = makeTempDir("kv-write-cost");
const target = mode === "lmdb" || mode === "batch" ? lmdbTarget(dir) : engineTarget(dir);
try {
  for (let round = 0; round <= rounds; round++) {
    const before = threadCpuUs();
    const started = performance.now();
    for (let done = 0; done < writes; done += perTurn) {
      const turn: Promise<unknown>[] = [];
      for (let i = 0; i < perTurn; i++) turn.push(target.write((w) => w.put(nextKey(), VALUE)));
      await Promise.all(turn);
    }
    const after = threadCpuUs();
    const wallUs = ((performance.now() - started) * 1000) / writes;
    if (round === 0) continue; // warm-up
    const main = (after.main - before.main) / writes;
    const other = (after.other - before.other) / writes;
    console.log(
      `kv-write-cost ${mode} ${durability} ${perTurn}/turn: ${(main + other).toFixed(1)} µs/write (main ${main.toFixed(1)}, other threads ${other.toFixed(1)}), ${wallUs.toFixed(0)} µs wall/write`,
    );
  }
} finally {
  await target.close();
  removeDir(dir);
}
