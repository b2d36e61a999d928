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

/** One write's pending entries, in key order, the last of each key (made when first read). */
interface SortedWrite {
  keys: string[];
  entries: Pending[];
}

/**
 * The pending writes of every write whose transaction has not settled: per key the newest (for
 * point reads), and per write its entries in key order (for range reads: a binary search in each
 * write in flight, so a range costs the entries it finds, not all that are pending). Writes
 * settle in the order they were added (lmdb-js commits and answers in order). Indexed lazily: a
 * write is only listed when added, and indexed when a callback first reads while it is pending,
 * so writes nobody reads meanwhile (most: a trim step's thousands of deletes, the appends and
 * acks of a busy stream) cost no key conversions or sorting.
 */
export class PendingWrites {
  private readonly byKey = new Map<string, Pending>();
  /** Per write (by its ops array), in the order added; undefined until indexed. */
  private readonly writes = new Map<readonly Pending[], SortedWrite | undefined>();
  /** Writes added since the last read, to index before the next. */
  private unindexed: (readonly Pending[])[] = [];

  /** Whether nothing is pending. */
  get empty(): boolean {
    return this.writes.size === 0;
  }

  /** Records `ops` (one write's, in order) as the pending state of their keys. */
  add(ops: readonly Pending[]): void {
    if (ops.length === 0) return;
    this.writes.set(ops, undefined);
    this.unindexed.push(ops);
  }

  /** The write of `ops` settled: its entries go, unless a later write's replaced them. */
  settle(ops: readonly Pending[]): void {
    if (!this.writes.has(ops)) return;
    const indexed = this.writes.get(ops) !== undefined;
    this.writes.delete(ops);
    if (!indexed) {
      // Writes settle in order, so one never read is at the head of the list (or gone from it).
      const i = this.unindexed.indexOf(ops);
      if (i >= 0) this.unindexed.splice(i, 1);
      return;
    }
    for (const p of ops) {
      const k = str(p.key);
      if (this.byKey.get(k) === p) this.byKey.delete(k);
    }
  }

  /** Indexes the writes added since the last read (before any read of them). */
  private index(): void {
    if (this.unindexed.length === 0) return;
    for (const ops of this.unindexed) {
      if (!this.writes.has(ops)) continue;
      const last = new Map<string, Pending>();
      for (const p of ops) {
        const k = str(p.key);
        this.byKey.set(k, p);
        last.set(k, p);
      }
      const keys = [...last.keys()].sort();
      this.writes.set(ops, { keys, entries: keys.map((k) => last.get(k) as Pending) });
    }
    this.unindexed = [];
  }

  get(key: string): Pending | undefined {
    if (this.writes.size === 0) return undefined;
    this.index();
    return this.byKey.get(key);
  }

  /** The pending entries in [start, end), newest per key, in key order. */
  inRange(start: Buffer, end: Buffer): Pending[] {
    if (this.writes.size === 0) return [];
    this.index();
    const lo = str(start);
    const hi = str(end);
    const found = new Map<string, Pending>();
    for (const w of this.writes.values()) {
      if (w === undefined) continue;
      for (let i = lowerBound(w.keys, lo); i < w.keys.length && (w.keys[i] as string) < hi; i++) {
        found.set(w.keys[i] as string, w.entries[i] as Pending); // later writes replace earlier ones
      }
    }
    if (found.size === 0) return [];
    return [...found.keys()].sort().map((k) => found.get(k) as Pending);
  }
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
