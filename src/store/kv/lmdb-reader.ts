/**
 * The read side of {@link LmdbKv}: gets, range walks and views over one LMDB database, as the
 * {@link KvReader} every read and write transaction is given.
 */
import type { Database, DatabaseOptions, RangeOptions, RootDatabase } from "lmdb";
import type { KvEntry, KvRange, KvReader, KvVisitor } from "./kv.js";

/** Slots of the views cache of the views handle's decoder (a power of two). */
const SIZED_VIEWS = 1024;
/** The read buffer the cached views are views of. */
let viewsOf: Uint8Array | undefined;
/** The last buffer handed that is not `viewsOf`. */
let seenOnce: Uint8Array | undefined;
/** Views of `viewsOf` from its start, in the slot of their size modulo SIZED_VIEWS. */
let sizedViews: (Buffer | undefined)[] = [];

/**
 * The decoder of the views handle (see {@link openViews}). lmdb-js hands a value decoder that
 * says it copies (`needsStableBuffer` false) its read buffer as is, with the value's size: that
 * buffer is reused by the next read, so what the decoder makes of it is a transient view. Views
 * of one buffer with the same size are the same view, so they are made once per size (a small
 * direct-mapped cache) rather than once per value. A value too large for lmdb-js's shared buffer
 * comes in a buffer of its own, and gets a view of its own.
 */
const VIEW_DECODER = {
  encode: (value: Buffer): Buffer => value,
  decode: (bytes: Uint8Array, size: number): Buffer => {
    if (bytes !== viewsOf) {
      // A buffer seen once (a large value's own) gets a view of its own; one seen twice in a
      // row is lmdb-js's shared buffer (replaced, or back after large values): cached from now.
      if (bytes !== seenOnce) {
        seenOnce = bytes;
        return Buffer.from(bytes.buffer, bytes.byteOffset, size);
      }
      viewsOf = bytes;
      seenOnce = undefined;
      sizedViews = new Array(SIZED_VIEWS);
    }
    const slot = size & (SIZED_VIEWS - 1);
    let view = sizedViews[slot];
    if (view === undefined || view.length !== size) {
      view = Buffer.from(bytes.buffer, bytes.byteOffset, size);
      sizedViews[slot] = view;
    }
    return view;
  },
  needsStableBuffer: false,
};

/** One key buffer per key length, reused by every key the views handle reads (see VIEW_KEYS). */
const viewKeys: Buffer[] = [];

/**
 * The key encoding of the views handle: keys are written as the bytes they are (as lmdb-js's
 * `binary` key encoding writes them), and each key read is copied into the one buffer of its
 * length this module keeps, instead of into a new buffer per key (`binary` slices one per entry):
 * a transient view, valid until the next key of that length is read.
 */
const VIEW_KEYS = {
  writeKey: (key: Buffer, target: Uint8Array, start: number): number => {
    target.set(key, start);
    return start + key.length;
  },
  readKey: (source: Uint8Array, start: number, end: number): Buffer => {
    const n = end - start;
    let key = viewKeys[n];
    if (key === undefined) {
      key = Buffer.alloc(n);
      viewKeys[n] = key;
    }
    for (let i = 0; i < n; i++) key[i] = source[start + i] as number;
    return key;
  },
};

/**
 * A second handle on the root database whose range walks give each key and value as a transient
 * view: the root handle's binary encoding copies every key and value into new buffers of their
 * own (a backing store per value, an object per key, for the garbage collector), which a walk that
 * keeps a few values, or copies them into shared buffers, does not need. Read only through
 * {@link KvReader.scan}.
 */
export function openViews(db: RootDatabase<Buffer, Buffer>): Database<Buffer, Buffer> {
  // A null name is the root database (lmdb-js's openDB); `encoder` is an option its types omit.
  const options = { keyEncoder: VIEW_KEYS, compression: false, encoder: VIEW_DECODER } as DatabaseOptions;
  return db.openDB<Buffer, Buffer>(null as unknown as string, options);
}

/** A key below `key` with no key between the two but ones that share all of `key` but its last byte. */
function keyBelow(key: Buffer): Buffer {
  if (key.length === 0) return key;
  const last = key[key.length - 1] as number;
  if (last === 0) return key.subarray(0, key.length - 1);
  const b = Buffer.from(key);
  b[b.length - 1] = last - 1;
  return b;
}

/** A copy of a key view (small: in Node's shared pool). */
function copyKey(view: Buffer): Buffer {
  const key = Buffer.allocUnsafe(view.length);
  view.copy(key, 0);
  return key;
}

/** What a range walk reads: entries (copies, or views on the views handle), or keys only (views). */
type WalkMode = "entries" | "views" | "keys";

/** The reads of a transaction on `db` (and `views`, its views handle: {@link openViews}). */
export function lmdbReader(db: RootDatabase<Buffer, Buffer>, views: Database<Buffer, Buffer>): KvReader {
  /** Walks a range forwards or backwards, calling `push` with each item until it returns false. */
  const walk = ({ start, end, limit, reverse = false }: KvRange, mode: WalkMode, push: (x: unknown) => boolean) => {
    const keyOf = (x: unknown): Buffer => (mode === "keys" ? (x as Buffer) : (x as KvEntry).key);
    const read = (o: RangeOptions): Iterable<unknown> =>
      mode === "keys" ? views.getKeys(o) : mode === "views" ? views.getRange(o) : db.getRange(o);
    let n = 0;
    if (!reverse) {
      for (const x of read({ start, end, limit })) {
        n++;
        if (!push(x)) break;
      }
      return n;
    }
    // Reversed, lmdb-js walks from its `start` (inclusive) down to its `end` (exclusive): begin at
    // our exclusive upper bound and skip it, and end below our inclusive lower bound, skipping
    // what lies under it.
    const max = limit ?? Number.POSITIVE_INFINITY;
    const opts = {
      start: end,
      end: keyBelow(start),
      reverse: true,
      limit: limit === undefined ? undefined : limit + 2,
    };
    for (const x of read(opts)) {
      const key = keyOf(x);
      if (Buffer.compare(key, end) >= 0) continue;
      if (Buffer.compare(key, start) < 0 || n >= max) break;
      n++;
      if (!push(x)) break;
    }
    return n;
  };
  return {
    get: (key) => db.get(key),
    range: (r: KvRange) => {
      const out: KvEntry[] = [];
      walk(r, "entries", (e) => out.push(e as KvEntry) > 0);
      return out;
    },
    // Keys only: lmdb-js reads no value (getKeys: a range walk with `values: false`). Read as
    // views (the views handle) and copied into Node's shared pool: a view object per key, where
    // lmdb-js's `binary` keys are each a buffer of their own (an ArrayBuffer per key).
    keys: (r: KvRange) => {
      const out: Buffer[] = [];
      walk(r, "keys", (key) => out.push(copyKey(key as Buffer)) > 0);
      return out;
    },
    scan: (r: KvRange, visit: KvVisitor) =>
      walk(r, "views", (x) => visit((x as KvEntry).key, (x as KvEntry).value) !== false),
    view: (key) => {
      // A buffer lmdb-js reuses for the next read, whose `length` property says the value's size
      // while its memory is larger; values of 16 MiB or more come as a plain Uint8Array on the
      // map. Either way: a Buffer over exactly the value's bytes, no copy.
      const fast = db.getBinaryFast(key) as Uint8Array | undefined;
      return fast === undefined ? undefined : Buffer.from(fast.buffer, fast.byteOffset, fast.length);
    },
  };
}
