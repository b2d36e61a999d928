/**
 * Merges calls made by many connections in the same event-loop turn into one broker call per key
 * (a queue, say): N connections pushing to one queue cost one Publish instead of N. Each caller
 * still gets exactly its own results, in its own order, and a merged call that fails as a whole
 * is repeated per caller, so one caller's bad input never fails another's.
 */
export type Coalesced<I, O> = (key: string, items: readonly I[]) => Promise<O[]>;

interface Waiter<O> {
  start: number;
  count: number;
  resolve(out: O[]): void;
  reject(e: unknown): void;
}

interface Pending<I, O> {
  items: I[];
  weight: number;
  waiters: Waiter<O>[];
}

/**
 * Creates a coalescing wrapper around `exec`, which must return one output per input item, in
 * order. At most `maxItems` items (and `maxWeight` by `weigh`) go into one call; a caller's items
 * are never split. With `maxInFlight`, a key's batch waits while that many of its calls are
 * running and goes when one ends (or when it is full): under load the calls grow instead of
 * multiplying, and an idle key's call still goes in the turn it was made.
 */
export function createCoalescer<I, O>(
  exec: (key: string, items: readonly I[]) => Promise<O[]>,
  maxItems: number,
  weigh: (item: I) => number = () => 0,
  maxWeight = Number.POSITIVE_INFINITY,
  maxInFlight = Number.POSITIVE_INFINITY,
): Coalesced<I, O> {
  const pending = new Map<string, Pending<I, O>>();
  /** Calls running per key (only counted with a finite `maxInFlight`). */
  const running = new Map<string, number>();
  const limited = maxInFlight !== Number.POSITIVE_INFINITY;

  /** One call of `exec` for a batch, counted while it runs. */
  function call(key: string, items: readonly I[]): Promise<O[]> {
    if (!limited) return exec(key, items);
    running.set(key, (running.get(key) ?? 0) + 1);
    const done = () => {
      const n = (running.get(key) ?? 1) - 1;
      if (n > 0) running.set(key, n);
      else running.delete(key);
      const waiting = pending.get(key);
      if (waiting !== undefined) flush(key, waiting);
    };
    const out = exec(key, items);
    out.then(done, done);
    return out;
  }

  /** Flushes `p` unless its key has `maxInFlight` calls running (then the end of one flushes it). */
  function flushIfRoom(key: string, p: Pending<I, O>): void {
    if (pending.get(key) !== p) return;
    if (limited && (running.get(key) ?? 0) >= maxInFlight) return;
    flush(key, p);
  }

  function flush(key: string, p: Pending<I, O>): void {
    if (pending.get(key) === p) pending.delete(key);
    if (p.waiters.length === 1) {
      const [w] = p.waiters as [Waiter<O>];
      call(key, p.items).then(w.resolve, w.reject);
      return;
    }
    call(key, p.items).then(
      (out) => {
        for (const w of p.waiters) w.resolve(out.slice(w.start, w.start + w.count));
      },
      () => {
        // Failed as a whole: each caller again on its own, so each gets its own answer.
        for (const w of p.waiters) exec(key, p.items.slice(w.start, w.start + w.count)).then(w.resolve, w.reject);
      },
    );
  }

  return (key, items) =>
    new Promise<O[]>((resolve, reject) => {
      let p = pending.get(key);
      const weight = items.reduce((n, i) => n + weigh(i), 0);
      if (p && (p.items.length + items.length > maxItems || p.weight + weight > maxWeight)) {
        flush(key, p);
        p = undefined;
      }
      if (!p) {
        const fresh: Pending<I, O> = { items: [], weight: 0, waiters: [] };
        pending.set(key, fresh);
        // After the I/O of this loop turn: every connection that read data in it has joined.
        setImmediate(() => flushIfRoom(key, fresh));
        p = fresh;
      }
      p.waiters.push({ start: p.items.length, count: items.length, resolve, reject });
      p.items.push(...items);
      p.weight += weight;
    });
}
