/**
 * A small queue for password hash checks. scrypt runs on libuv's thread pool, which file reads,
 * DNS lookups and other crypto share (4 threads unless `UV_THREADPOOL_SIZE` says otherwise): a
 * flood of logins must never occupy all of it. At most `concurrency` checks run at once; the
 * rest wait their turn in order.
 */
export interface HashSlots {
  /** Runs `task` when a slot is free; resolves or rejects with it. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running or waiting. */
  pending(): number;
  /** How many run at once. */
  readonly concurrency: number;
}

/** Creates {@link HashSlots} running at most `concurrency` (≥ 1) tasks at once. */
export function createHashSlots(concurrency: number): HashSlots {
  const limit = Math.max(1, Math.floor(concurrency));
  const waiting: (() => void)[] = [];
  let running = 0;
  const next = () => {
    running--;
    const start = waiting.shift();
    if (start) {
      running++;
      start();
    }
  };
  return {
    concurrency: limit,
    run<T>(task: () => Promise<T>): Promise<T> {
      const go = () => {
        let p: Promise<T>;
        try {
          p = task();
        } catch (e) {
          p = Promise.reject(e);
        }
        p.then(next, next);
        return p;
      };
      if (running < limit) {
        running++;
        return go();
      }
      return new Promise<T>((resolve, reject) => {
        waiting.push(() => {
          go().then(resolve, reject);
        });
      });
    },
    pending: () => running + waiting.length,
  };
}

/** libuv's thread pool size in this process (`UV_THREADPOOL_SIZE`, default 4). */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

/**
 * The process's hash checks: half of libuv's thread pool at most (2 of the default 4), so
 * logins never take more than half of it whatever their number.
 */
export const PROCESS_HASH_SLOTS: HashSlots = createHashSlots(Math.max(1, Math.floor(threadPoolSize() / 2)));
