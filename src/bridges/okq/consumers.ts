/**
 * QREGISTER bookkeeping: which queues each connection registered. QSTATUS reports the count per
 * queue as "consumers", like okQ; a disconnect deregisters.
 */
export interface ConsumerRegistry {
  /** Replaces the queues registered by `owner` (an empty list deregisters it). */
  register(owner: object, queues: readonly string[]): void;
  /** Connections registered for `queue`. */
  count(queue: string): number;
  /** Queues with at least one registered connection. */
  queues(): string[];
}

/** Creates an in-process {@link ConsumerRegistry}. */
export function createConsumerRegistry(): ConsumerRegistry {
  const byOwner = new Map<object, readonly string[]>();
  const counts = new Map<string, number>();
  return {
    register(owner, queues) {
      for (const q of new Set(byOwner.get(owner) ?? [])) {
        const n = (counts.get(q) ?? 1) - 1;
        if (n > 0) counts.set(q, n);
        else counts.delete(q);
      }
      if (queues.length === 0) {
        byOwner.delete(owner);
        return;
      }
      byOwner.set(owner, queues);
      for (const q of new Set(queues)) counts.set(q, (counts.get(q) ?? 0) + 1);
    },
    count: (queue) => counts.get(queue) ?? 0,
    queues: () => [...counts.keys()],
  };
}
