import type { Clock } from "../../util/index.js";

/** Options of {@link createSubscriberRegistry}. */
export interface SubscriberRegistryOptions {
  /** Most live subscribers at once; a subscribe beyond it is refused. */
  maxSubscribers: number;
  /** The subscriptions' `expire_after_idle_ms`: a subscriber unused this long is gone. */
  idleExpiryMs: number;
  clock: Clock;
}

/**
 * The bridge's view of its subscribers (docs/gophermq.md "Bounds"): id → subject, and when each
 * was last used (subscribe, fetch), in order of last use. The broker deletes a subscription idle
 * for `idleExpiryMs`; the registry forgets it after the same time plus a margin for the broker's
 * sweep, so its size is the number of live subscribers, which it caps. It also remembers the
 * subjects whose topic the bridge created, so the topics of subjects nobody uses any more can be
 * deleted (cleanup in index.ts).
 */
export interface SubscriberRegistry {
  /** The subject of subscriber `id` if it is known and live; marks it used. */
  use(id: string): string | undefined;
  /** Records a new (or newly seen) subscriber. */
  add(id: string, subject: string): void;
  /** Forgets a subscriber whose subscription is gone. */
  forget(id: string): void;
  /** True when one more subscriber fits beside `pending` ones being made (after forgetting expired ones). */
  hasRoom(pending: number): boolean;
  /** Live subscribers known. */
  size(): number;
  /** Live subscribers of `subject`. */
  countOf(subject: string): number;
  /**
   * Notes that the bridge created the topic of `subject`, so it may delete it once unused.
   * Beyond `maxSubscribers` such topics (all waiting for a cleanup) a new one is not tracked.
   */
  createdTopic(subject: string): void;
  /**
   * Forgets expired subscribers and returns up to `max` subjects whose topic the bridge created
   * and that have no live subscriber left: candidates for deletion. They stay candidates until
   * {@link dropCreated} is called for them, behind the others (each call goes on where the last
   * one stopped).
   */
  idleSubjects(max: number): string[];
  /** Stops tracking a created topic (deleted, or kept for good). */
  dropCreated(subject: string): void;
  /** Created topics tracked. */
  createdCount(): number;
}

/** How long past the idle expiry a subscriber is still counted: the broker sweeps once a second. */
export const EXPIRY_MARGIN_MS = 5_000;

/** Creates a {@link SubscriberRegistry}. */
export function createSubscriberRegistry(options: SubscriberRegistryOptions): SubscriberRegistry {
  const { clock } = options;
  /** id → subject and last use; Map order is the order of last use (re-inserted on use). */
  const live = new Map<string, { subject: string; usedMs: number }>();
  const perSubject = new Map<string, number>();
  const created = new Set<string>();

  const count = (subject: string, delta: number) => {
    const n = (perSubject.get(subject) ?? 0) + delta;
    if (n > 0) perSubject.set(subject, n);
    else perSubject.delete(subject);
  };
  const remove = (id: string) => {
    const entry = live.get(id);
    if (!entry) return;
    live.delete(id);
    count(entry.subject, -1);
  };
  const expire = () => {
    const cutoff = clock.now() - options.idleExpiryMs - EXPIRY_MARGIN_MS;
    for (const [id, entry] of live) {
      if (entry.usedMs > cutoff) break; // the rest were used later
      remove(id);
    }
  };

  return {
    use(id) {
      expire();
      const entry = live.get(id);
      if (!entry) return undefined;
      live.delete(id);
      entry.usedMs = clock.now();
      live.set(id, entry);
      return entry.subject;
    },
    add(id, subject) {
      remove(id);
      live.set(id, { subject, usedMs: clock.now() });
      count(subject, 1);
    },
    forget: remove,
    hasRoom(pending) {
      expire();
      return live.size + pending < options.maxSubscribers;
    },
    size: () => live.size,
    countOf: (subject) => perSubject.get(subject) ?? 0,
    createdTopic(subject) {
      if (created.size < options.maxSubscribers) created.add(subject);
    },
    idleSubjects(max) {
      expire();
      const out: string[] = [];
      for (const subject of created) {
        if (out.length >= max) break;
        if (!perSubject.has(subject)) out.push(subject);
      }
      for (const subject of out) {
        created.delete(subject);
        created.add(subject);
      }
      return out;
    },
    dropCreated(subject) {
      created.delete(subject);
    },
    createdCount: () => created.size,
  };
}
