/**
 * Resolves with `p`'s outcome, or with `undefined` after `ms`. The timer keeps the process
 * alive (a caller waiting to finish a close must get to run), and is cleared when `p` settles.
 */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
