/** One caller's place in a {@link Turns} queue. */
export interface Turn {
  /** Resolves when every earlier holder of the key is done. */
  before: Promise<void>;
  /** Ends this turn: the next holder of the key may go on. */
  done(): void;
}

/** Turns per key, in the order they were taken (fetches of one GopherMQ subscriber). */
export interface Turns {
  take(key: string): Turn;
}

/**
 * Creates {@link Turns}: `take(key)` queues the caller behind everyone who took `key` before and
 * is not done yet. A key without waiters holds no memory.
 */
export function createTurns(): Turns {
  const tails = new Map<string, Promise<void>>();
  return {
    take(key) {
      const before = tails.get(key) ?? Promise.resolve();
      let finish!: () => void;
      const mine = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const tail = before.then(() => mine);
      tails.set(key, tail);
      return {
        before,
        done() {
          finish();
          if (tails.get(key) === tail) tails.delete(key);
        },
      };
    },
  };
}
