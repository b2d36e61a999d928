/**
 * Helpers of the trim tests (trim.test.ts, trim-readers.test.ts): a store on memory data, records,
 * drains and sweeps, raw reads of the memory KV's log and released ranges, and two KV wrappers: one whose reads see only committed writes (as LMDB's do) and one
 * that counts the log deletes of each write.
 */
import assert from "node:assert/strict";
import { KvStore } from "../../src/store/engine/kv-store.js";
import type { Store } from "../../src/store/index.js";
import type { KvEngine, KvReader, KvWriteOptions, KvWriter } from "../../src/store/kv/kv.js";
import { MemoryKv, type MemoryKvData } from "../../src/store/kv/memory-kv.js";
import { lease, rec, seqsOf, T0, tokensOf } from "./conformance/helpers.js";
import { checkInvariants } from "./invariants.js";

/** The independent invariant check (invariants.ts) finds nothing. */
export function assertInvariants(data: MemoryKvData): void {
  assert.deepEqual(checkInvariants(data).errors, []);
}

/** A KV store on memory data; the trim runs only through sweepRetention unless told otherwise. */
export function open(data: MemoryKvData, trimAfterMs = Number.POSITIVE_INFINITY): KvStore {
  return new KvStore(new MemoryKv(data), { trimAfterMs });
}

/** `n` records without a client id (so no dedup entries) and data `d<i>`, from `from` on. */
export function plain(n: number, from = 1) {
  return Array.from({ length: n }, (_, i) => rec("", { data: Buffer.from(`d${from + i}`) }));
}

/** Sweeps until done; returns the steps. */
export async function sweepAll(store: Store, work = 1000): Promise<number> {
  let steps = 1;
  while ((await store.sweepRetention(T0, work)).more) steps++;
  return steps;
}

/** Leases and acks everything available; returns the seqs acked. */
export async function drain(store: Store, sub: string): Promise<number[]> {
  const got = await lease(store, sub, 10_000, T0);
  await store.ack(sub, { tokens: tokensOf(got), messageIds: [] }, T0);
  return seqsOf(got);
}

/** Table tag of the log (src/store/engine/keys.ts). */
export const MESSAGE = 0x04;
/** Table tag of the released ranges (src/store/engine/keys.ts). */
export const RELEASED = 0x18;

/** Non-empty entries of a table for one topic ([tag][topicId u32]…). */
function entries(data: MemoryKvData, tag: number, topicId: number): Buffer[] {
  return data.keys
    .filter((k) => k.charCodeAt(0) === tag && (data.values.get(k)?.length ?? 0) > 0)
    .map((k) => Buffer.from(k, "latin1"))
    .filter((k) => k.readUInt32BE(1) === topicId);
}

/** Seqs of the log entries of a topic, as stored. */
export function logSeqs(data: MemoryKvData, topicId: number): number[] {
  return entries(data, MESSAGE, topicId).map((k) => k.readUInt32BE(5) * 2 ** 32 + k.readUInt32BE(9));
}

/** Released ranges of a topic, as stored. */
export function releasedRanges(data: MemoryKvData, topicId: number): Array<[number, number]> {
  return entries(data, RELEASED, topicId).map((k) => {
    const v = data.values.get(k.toString("latin1")) as Buffer;
    return [k.readUInt32BE(5) * 2 ** 32 + k.readUInt32BE(9), v.readUInt32BE(0) * 2 ** 32 + v.readUInt32BE(4)];
  });
}

/**
 * A memory KV whose reads see the last commit, as LMDB's do: a write's callback runs at once
 * (the store's memory changes), but readers see its changes only when it "commits", which a
 * test can hold back (`hold`, then `release`).
 */
export class CommitLaterKv implements KvEngine {
  private readonly inner: MemoryKv;
  private visible: MemoryKvData;
  private hold = false;
  private reached: (() => void) | undefined;
  private open: (() => void) | undefined;

  constructor(private readonly live: MemoryKvData) {
    this.inner = new MemoryKv(live);
    this.visible = copy(live);
  }

  async write<T>(fn: (txn: KvWriter) => T, options?: KvWriteOptions): Promise<T> {
    const out = await this.inner.write(fn, options);
    if (this.hold) {
      const gate = new Promise<void>((resolve) => {
        this.open = resolve;
      });
      this.reached?.();
      await gate;
    }
    this.visible = copy(this.live);
    return out;
  }

  /** Holds the next write's commit back; resolves once its callback ran. */
  holdNext(): Promise<void> {
    this.hold = true;
    return new Promise((resolve) => {
      this.reached = resolve;
    });
  }

  release(): void {
    this.hold = false;
    this.open?.();
  }

  read<T>(fn: (r: KvReader) => T): T {
    return new MemoryKv(this.visible).read(fn);
  }

  /** What the last commit holds, as a copy (what a crash now would leave). */
  committed(): MemoryKvData {
    return copy(this.visible);
  }

  /** Log entries readers see. */
  visibleLog(): number {
    return logSeqs(this.visible, 1).length;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function copy(d: MemoryKvData): MemoryKvData {
  return { keys: [...d.keys], values: new Map(d.values) };
}

/**
 * A memory KV that notes, per write (the trim's steps), the message-log deletes (`dels`) and the
 * key range reads (`scans`: calls of `keys` and `range`, whatever they found), and in all the
 * key reads of the message log (`logKeyScans`: calls of `keys` that start in it, in writes and
 * in reads, such as the plan of a timer step).
 */
export class StepCountingKv implements KvEngine {
  private readonly inner: MemoryKv;
  dels: number[] = [];
  scans: number[] = [];
  logKeyScans = 0;

  constructor(data: MemoryKvData) {
    this.inner = new MemoryKv(data);
  }

  /** Counts a step's log deletes, its own and those it hands over as `deletes` (kv.ts). */
  write<T>(fn: (txn: KvWriter) => T, options: KvWriteOptions = {}): Promise<T> {
    const handed = options.deletes;
    let handedLog = 0;
    const deletes = handed
      ? () => {
          const keys = handed();
          handedLog = keys.filter((k) => k[0] === MESSAGE).length;
          return keys;
        }
      : undefined;
    return this.inner.write(
      (w) => {
        let n = handedLog;
        let scans = 0;
        const counting: KvWriter = {
          get: (k) => w.get(k),
          range: (r) => {
            scans++;
            return w.range(r);
          },
          keys: (r) => {
            scans++;
            if (r.start[0] === MESSAGE) this.logKeyScans++;
            return w.keys(r);
          },
          scan: (r, visit) => {
            scans++;
            return w.scan(r, visit);
          },
          view: (k) => w.view(k),
          put: (k, v) => w.put(k, v),
          del: (k) => {
            if (k[0] === MESSAGE) n++;
            w.del(k);
          },
        };
        try {
          return fn(counting);
        } finally {
          this.dels.push(n);
          this.scans.push(scans);
        }
      },
      { ...options, ...(deletes ? { deletes } : {}) },
    );
  }

  read<T>(fn: (r: KvReader) => T): T {
    return this.inner.read((r) =>
      fn({
        ...r,
        keys: (range) => {
          if (range.start[0] === MESSAGE) this.logKeyScans++;
          return r.keys(range);
        },
      }),
    );
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
