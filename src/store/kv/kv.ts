/** Longest key a {@link KvEngine} must accept (LMDB's limit); engines refuse longer ones. */
export const MAX_KEY_BYTES = 1978;

/** One key/value pair read from an ordered KV engine. */
export interface KvEntry {
  key: Buffer;
  value: Buffer;
}

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
  /** Returns an array, never a live cursor, so nothing pins pages across an await. */
  range(range: KvRange): KvEntry[];
}

/** Synchronous writes inside a write transaction; reads see earlier writes of the same transaction. */
export interface KvWriter extends KvReader {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/**
 * An ordered byte-key store with atomic, batched write transactions. The engine under
 * {@link KvStore}; LMDB and an in-memory map implement it. Keys compare as unsigned bytes and are
 * at most {@link MAX_KEY_BYTES} long.
 */
export interface KvEngine {
  /**
   * Runs `fn` inside a write transaction (possibly shared with other calls of the same event
   * turn) and resolves with its result once the transaction is durable per the engine's setting,
   * or, with `sync: false`, once it is committed (visible, and durable with the next sync).
   * `fn` must be synchronous and must validate before it writes: a throw does not roll back
   * writes it already made.
   */
  write<T>(fn: (txn: KvWriter) => T, options?: { sync?: boolean }): Promise<T>;
  /** Runs `fn` against the latest committed state. */
  read<T>(fn: (reader: KvReader) => T): T;
  close(): Promise<void>;
}
