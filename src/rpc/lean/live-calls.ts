/**
 * The lean calls in flight, so that shutdown can abort them: a list linked through the calls
 * themselves ({@link LiveLinks}), so adding and removing a call hashes nothing and allocates
 * nothing (a `Set` did both for every call).
 *
 * @module
 */

/** The links a call carries for {@link LiveCalls} (fields of the call, set only by the list). */
export interface LiveLinks {
  /** @internal */ livePrev: LiveLinks | undefined;
  /** @internal */ liveNext: LiveLinks | undefined;
  /** @internal */ live: boolean;
}

/** A set of calls kept in a doubly linked list through their {@link LiveLinks}. */
export class LiveCalls<T extends LiveLinks> {
  private head: T | undefined;
  private count = 0;

  /** Adds `call` (nothing if it is in already). */
  add(call: T): void {
    if (call.live) return;
    call.live = true;
    call.livePrev = undefined;
    call.liveNext = this.head;
    if (this.head !== undefined) this.head.livePrev = call;
    this.head = call;
    this.count++;
  }

  /** Removes `call` (nothing if it is not in). */
  delete(call: T): void {
    if (!call.live) return;
    call.live = false;
    const { livePrev: prev, liveNext: next } = call;
    if (prev !== undefined) prev.liveNext = next;
    else this.head = next as T | undefined;
    if (next !== undefined) next.livePrev = prev;
    call.livePrev = undefined;
    call.liveNext = undefined;
    this.count--;
  }

  /** How many calls are in. */
  get size(): number {
    return this.count;
  }

  /** The calls now in, newest first (a copy: the list may change while it is walked). */
  toArray(): T[] {
    const out: T[] = [];
    for (let c = this.head; c !== undefined; c = c.liveNext as T | undefined) out.push(c);
    return out;
  }
}
