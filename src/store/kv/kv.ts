/** Longest key a {@link KvEngine} must accept (LMDB's limit); engines refuse longer ones. */
export const MAX_KEY_BYTES = 1978;

/** One key/value pair read from an ordered KV engine. */
export interface KvEntry {
  key: Buffer;
  value: Buffer;
}

/** Called by {@link KvReader.scan} with each entry; false stops the walk. */
export type KvVisitor = (key: Buffer, view: Buffer) => boolean;

/** Bounds of a range read: keys in [start, end), at most `limit`, optionally from the end. */
export interface KvRange {
  start: Buffer;
  end: Buffer;
  limit?: number;
  reverse?: boolean;
}

/** Synchronous reads inside a read or write transaction. */
export interface KvReader {
  get(key: Buffer): Buffer | undefined;
  /**
   * Returns an array, never a live cursor, so nothing pins pages across an await. Keys and
   * values are copies the caller owns (delivery hands them out without copying again).
   */
  range(range: KvRange): KvEntry[];
  /** The keys of a range, without reading or copying a value (see {@link range}). */
  keys(range: KvRange): Buffer[];
  /**
   * Walks a range in order, calling `visit` with each key and its value as transient views,
   * read without allocating copies: both are valid only during that call (an engine may reuse one
   * buffer for every view) and never to be changed, and `visit` must not call this reader. For reading many values and keeping a few (a copy of what it keeps). `visit` returns
   * false to stop the walk. Returns the entries visited.
   */
  scan(range: KvRange, visit: KvVisitor): number;
  /**
   * The value at `key` as a transient view, read without allocating a copy: valid only until
   * the next call on this reader (an engine may reuse one buffer for every view), and never to
   * be changed. For reading a part of a value (a message's header) and dropping it; use
   * {@link get} for a value to keep.
   */
  view(key: Buffer): Buffer | undefined;
}

/** Synchronous writes inside a write transaction; reads see earlier writes of the same transaction. */
export interface KvWriter extends KvReader {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/** How a write may be scheduled (see {@link KvEngine.write}). */
export interface KvWriteOptions {
  /**
   * false: nobody needs this write synced (background work: trim steps, cursor flushes); an engine
   * may answer it once committed. Default true.
   */
  sync?: boolean;
  /**
   * The caller is off the latency path (an Ack, a trim step, a cursor flush): an engine may hold
   * the write for a short, bounded time to share a transaction with writes that come soon after.
   * It is still answered only once its own transaction is durable, and writes still apply in the
   * order called. Default false.
   */
  deferrable?: boolean;
  /**
   * Keys to delete in the same transaction as `fn`, named when the write joins its transaction:
   * called once then, outside any write callback (it may read the committed state), before `fn`
   * runs. The deletes apply before `fn` (its reads see them gone) and commit or fail with its
   * writes, so a crash keeps both or neither; an engine may hand them to its write thread (LMDB:
   * lmdb-js's asynchronous removes, off the main thread). Unlike `fn`'s writes they are not undone
   * when `fn` throws: only for deletes that are harmless on their own (entries nobody reads any
   * more, as the trim's). Keys that are not there are skipped. If it throws, the write rejects
   * with that and nothing is written.
   */
  deletes?: () => readonly Buffer[];
}

/**
 * An ordered byte-key store with atomic, batched write transactions. The engine under
 * {@link KvStore}; LMDB and an in-memory map implement it. Keys compare as unsigned bytes and are
 * at most {@link MAX_KEY_BYTES} long.
 */
export interface KvEngine {
  /**
   * Runs `fn` inside a write transaction (possibly shared with other calls of the same event
   * turn) and resolves with its result once that transaction is durable per the engine's
   * setting, or, with `sync: false`, at the latest then (an engine may resolve once it is
   * committed: visible, and durable with the next sync). Each call is answered from the outcome
   * of its own transaction, never from a later one's.
   *
   * All or nothing: when `fn` throws, none of its writes are applied (the other calls sharing
   * the transaction keep theirs) and the promise rejects with what `fn` threw. When the
   * transaction fails to commit or to sync, the promise rejects with a {@link KvCommitError}:
   * the writes may or may not be on disk. `fn` must be synchronous.
   */
  write<T>(fn: (txn: KvWriter) => T, options?: KvWriteOptions): Promise<T>;
  /** Runs `fn` against the latest committed state. */
  read<T>(fn: (reader: KvReader) => T): T;
  /**
   * Waits (boundedly) for writes in flight, then releases the engine. Always ends, also after a
   * failed commit whose transaction the backend never settles.
   */
  close(): Promise<void>;
}

/**
 * A write transaction failed to commit or to sync (EIO, ENOSPC, …). Unlike a throw of the write
 * callback, nothing is known about what reached the disk: the writes may be visible and not
 * durable, durable, or gone.
 */
export class KvCommitError extends Error {
  override name = "KvCommitError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
