/**
 * Writes handed to the KV engine whose transaction has not committed yet, and the reader that
 * sees them over the committed state. {@link LmdbKv} runs each write callback on the main thread
 * when it submits the write and hands its puts and deletes to lmdb-js's write thread as one block
 * of asynchronous instructions (no call back into the main thread inside the transaction); a
 * later callback must still read what earlier ones wrote, as it did when every callback ran inside
 * the write transaction, so its reads look here first. Reads outside write callbacks see the
 * committed state only, as before.
 */
import { type KvEntry, type KvRange, type KvReader, type KvVisitor, type KvWriter, MAX_KEY_BYTES } from "./kv.js";

/** A pending put (a value) or delete (undefined); which write it belongs to is its identity. */
export interface Pending {
  key: Buffer;
  value: Buffer | undefined;
}

/** Keys as latin1 strings: one char per byte, so string order is byte order. */
const str = (key: Buffer): string => key.toString("latin1");

/** One pending write: its ops, and what of it is indexed (made when first read). */
interface PendingWrite {
  ops: readonly Pending[];
  /** Its ops are in `byKey` (for point reads). */
  inByKey: boolean;
  /** Its keys in order, the last op of each, with those ops (for range reads). */
  keys?: string[];
  entries?: Pending[];
}

/**
 * The pending writes of every write whose transaction has not settled: per key the newest (for
 * point reads), and per write its entries in key order (for range reads: a binary search in each
 * write in flight, so a range costs the entries it finds, not all that are pending). Writes
 * settle in the order they were added (lmdb-js commits and answers in order). Indexed lazily: a
 * write is only listed when added; point reads index the keys of what is pending, range reads
 * sort it, each the first time a callback needs it while the write is pending. A trim step's
 * thousands of deletes, say, are never sorted unless a callback reads a range meanwhile.
 */
export class PendingWrites {
  private readonly byKey = new Map<string, Pending>();
  /** Per write (by its ops array), in the order added. */
  private readonly writes = new Map<readonly Pending[], PendingWrite>();
  /** Writes added since the last point read, to put in `byKey` before the next. */
  private notInByKey: PendingWrite[] = [];

  /** Whether nothing is pending. */
  get empty(): boolean {
    return this.writes.size === 0;
  }

  /** Records `ops` (one write's, in order) as the pending state of their keys. */
  add(ops: readonly Pending[]): void {
    if (ops.length === 0) return;
    const w: PendingWrite = { ops, inByKey: false };
    this.writes.set(ops, w);
    this.notInByKey.push(w);
  }

  /** The write of `ops` settled: its entries go, unless a later write's replaced them. */
  settle(ops: readonly Pending[]): void {
    const w = this.writes.get(ops);
    if (w === undefined) return;
    this.writes.delete(ops);
    if (!w.inByKey) {
      // Writes settle in order: one not indexed yet is at the head of the list.
      const i = this.notInByKey.indexOf(w);
      if (i >= 0) this.notInByKey.splice(i, 1);
      return;
    }
    for (const p of ops) {
      const k = str(p.key);
      if (this.byKey.get(k) === p) this.byKey.delete(k);
    }
  }

  get(key: string): Pending | undefined {
    if (this.writes.size === 0) return undefined;
    if (this.notInByKey.length > 0) {
      for (const w of this.notInByKey) {
        for (const p of w.ops) this.byKey.set(str(p.key), p);
        w.inByKey = true;
      }
      this.notInByKey = [];
    }
    return this.byKey.get(key);
  }

  /** The pending entries in [start, end), newest per key, in key order. */
  inRange(start: Buffer, end: Buffer): Pending[] {
    if (this.writes.size === 0) return [];
    const lo = str(start);
    const hi = str(end);
    const found = new Map<string, Pending>();
    for (const w of this.writes.values()) {
      const keys = w.keys ?? sortWrite(w);
      const entries = w.entries as Pending[];
      for (let i = lowerBound(keys, lo); i < keys.length && (keys[i] as string) < hi; i++) {
        found.set(keys[i] as string, entries[i] as Pending); // later writes replace earlier ones
      }
    }
    if (found.size === 0) return [];
    return [...found.keys()].sort().map((k) => found.get(k) as Pending);
  }
}

/** Sorts a write's keys (the last op of each) for range reads. */
function sortWrite(w: PendingWrite): string[] {
  const last = new Map<string, Pending>();
  for (const p of w.ops) last.set(str(p.key), p);
  const keys = [...last.keys()].sort();
  w.keys = keys;
  w.entries = keys.map((k) => last.get(k) as Pending);
  return keys;
}

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((keys[mid] as string) < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The writer one write callback is given: its puts and deletes are recorded in order (values
 * copied: lmdb-js reads a value's memory later, on its write thread), and its reads see, newest
 * first, its own writes, the pending writes of earlier callbacks, then the committed state.
 */
export class PendingWriter implements KvWriter {
  /** This callback's writes, in order. */
  readonly ops: Pending[] = [];
  /** `ops` by key, the last of each; made when the callback first reads after writing. */
  private readonly own = new Map<string, Pending>();
  private ownIndexed = 0;

  constructor(
    private readonly base: KvReader,
    private readonly pending: PendingWrites,
  ) {}

  put(key: Buffer, value: Buffer): void {
    checkKey(key);
    this.record({ key: Buffer.from(key), value: Buffer.from(value) });
  }

  del(key: Buffer): void {
    checkKey(key);
    this.record({ key: Buffer.from(key), value: undefined });
  }

  private record(p: Pending): void {
    this.ops.push(p);
  }

  /** Indexes the writes of this callback made since its last read. */
  private indexOwn(): void {
    for (; this.ownIndexed < this.ops.length; this.ownIndexed++) {
      const p = this.ops[this.ownIndexed] as Pending;
      this.own.set(str(p.key), p);
    }
  }

  private find(key: Buffer): Pending | undefined {
    if (this.ops.length === 0 && this.pending.empty) return undefined;
    this.indexOwn();
    const k = str(key);
    return this.own.get(k) ?? this.pending.get(k);
  }

  get(key: Buffer): Buffer | undefined {
    const p = this.find(key);
    if (p === undefined) return this.base.get(key);
    return p.value === undefined ? undefined : Buffer.from(p.value);
  }

  view(key: Buffer): Buffer | undefined {
    const p = this.find(key);
    return p === undefined ? this.base.view(key) : p.value;
  }

  range(range: KvRange): KvEntry[] {
    const out: KvEntry[] = [];
    this.scan(range, (key, value) => out.push({ key: Buffer.from(key), value: Buffer.from(value) }) > 0);
    return out;
  }

  keys(range: KvRange): Buffer[] {
    const out: Buffer[] = [];
    this.scan(range, (key) => out.push(Buffer.from(key)) > 0);
    return out;
  }

  /** The committed walk with the pending entries of the range merged in (they win on equal keys). */
  scan(range: KvRange, visit: KvVisitor): number {
    const overlay = this.overlayIn(range);
    if (overlay.length === 0) return this.base.scan(range, visit);
    const reverse = range.reverse === true;
    if (reverse) overlay.reverse();
    const limit = range.limit ?? Number.POSITIVE_INFINITY;
    let i = 0;
    let n = 0;
    let stopped = false;
    /** Visits a pending entry unless it is a delete; false once the walk must stop. */
    const emit = (p: Pending): boolean => {
      if (p.value === undefined) return true;
      n++;
      if (visit(p.key, p.value) === false || n >= limit) stopped = true;
      return !stopped;
    };
    if (limit > 0) {
      this.base.scan({ start: range.start, end: range.end, reverse }, (key, view) => {
        const before = (p: Pending) => (reverse ? Buffer.compare(p.key, key) > 0 : Buffer.compare(p.key, key) < 0);
        while (i < overlay.length && before(overlay[i] as Pending)) if (!emit(overlay[i++] as Pending)) return false;
        if (i < overlay.length && (overlay[i] as Pending).key.equals(key)) return emit(overlay[i++] as Pending);
        n++;
        if (visit(key, view) === false || n >= limit) stopped = true;
        return !stopped;
      });
      while (!stopped && i < overlay.length) emit(overlay[i++] as Pending);
    }
    return n;
  }

  /** Pending entries in the range, own writes over earlier ones, in key order. */
  private overlayIn({ start, end }: KvRange): Pending[] {
    this.indexOwn();
    const shared = this.pending.inRange(start, end);
    if (this.own.size === 0) return shared;
    const merged = new Map<string, Pending>();
    for (const p of shared) merged.set(str(p.key), p);
    const lo = str(start);
    const hi = str(end);
    for (const [k, p] of this.own) if (k >= lo && k < hi) merged.set(k, p);
    return [...merged.keys()].sort().map((k) => merged.get(k) as Pending);
  }
}

/** lmdb-js refuses empty and oversized keys; refused here, before anything is queued. */
function checkKey(key: Buffer): void {
  if (key.length === 0 || key.length > MAX_KEY_BYTES) {
    throw new Error(`key of ${key.length} bytes: LMDB takes 1 to ${MAX_KEY_BYTES} bytes`);
  }
}
