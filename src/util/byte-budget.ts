/**
 * A shared bound on bytes held at once (e.g. request bodies being read across all connections).
 * Callers take bytes as they buffer them and give them back when the request is done.
 */
export interface ByteBudget {
  /** Takes `bytes` if they fit under the limit; false (and nothing taken) if they do not. */
  tryTake(bytes: number): boolean;
  /** Gives back bytes taken earlier. */
  release(bytes: number): void;
  /** Bytes taken now. */
  used(): number;
  /** The limit in bytes. */
  readonly maxBytes: number;
}

/** Creates a {@link ByteBudget} of `maxBytes`. */
export function createByteBudget(maxBytes: number): ByteBudget {
  let used = 0;
  return {
    maxBytes,
    tryTake(bytes) {
      if (used + bytes > maxBytes) return false;
      used += bytes;
      return true;
    },
    release(bytes) {
      used = Math.max(0, used - bytes);
    },
    used: () => used,
  };
}
