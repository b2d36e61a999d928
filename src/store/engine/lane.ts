/**
 * One priority lane of a subscription's cursor: the seqs of the topic's messages of one priority,
 * in seq order. Everything below `floor` is settled (acked, filtered out, or gone); `ranges` holds
 * the settled seqs above it; `next` is the scan position: every lane seq below it has been looked
 * at, so an unsettled one there is tracked in memory (leased, ready again, delayed, waiting);
 * from `next` on the lane is read from the log as delivery needs it.
 */
import { MinHeap } from "./min-heap.js";
import { RangeSet } from "./range-set.js";

/** Lanes per subscription: priorities 0..9. */
export const LANES = 10;

/** One priority lane of a cursor (see the module comment). */
export class Lane {
  /** Every lane seq below this is settled. Persisted with the cursor. */
  floor: number;
  /** Scan position: lane seqs below it were looked at. */
  next: number;
  /** Settled seqs at or above `floor`. Persisted as AckRange keys, those that changed on each write. */
  readonly ranges = new RangeSet();
  /** Starts of the ranges stored (AckRange keys), so a write deletes only keys that exist. */
  readonly stored = new Set<number>();
  /** Seqs of tracked entries of this lane (lazy: validated against the tracked map on use). */
  readonly trackedSeqs = new MinHeap<number>();
  /** Tracked entries available again, by seq (lazy, see {@link MinHeap}). */
  readonly ready = new MinHeap<number>();
  /**
   * The scan position as persisted before the store was opened: an unsettled seq below it was
   * probably delivered before a restart, so it counts as delivered once (a delivery attempt may
   * repeat after a crash, never go backwards).
   */
  loadMark = 0;
  /**
   * The largest message the last lease's reads with values brought (deliver.ts): the size its
   * next lease assumes for its first read, instead of a first small read to learn it.
   */
  sizeHint = 0;

  constructor(
    readonly priority: number,
    floor: number,
  ) {
    this.floor = floor;
    this.next = floor;
  }

  /** Marks `seq` settled (acked, or left without delivery). */
  settle(seq: number): void {
    if (seq < this.floor) return;
    this.ranges.add(seq);
  }

  /**
   * Marks the seqs in [a, b] settled: a scan stepped over them (not this lane's, filtered out,
   * another subscription's). Settled, they merge with acks around them into one range, so a
   * message held at the floor does not leave a range per later ack.
   */
  settleRange(a: number, b: number): void {
    this.ranges.addRange(Math.max(a, this.floor), b);
  }

  /** Is `seq` settled according to the floor and ranges alone? */
  settled(seq: number): boolean {
    return seq < this.floor || this.ranges.has(seq);
  }

  /**
   * Recomputes the floor: the lowest tracked seq or the scan position, whichever is lower,
   * moved past ranges that start there. `minTracked` returns the lowest live tracked seq.
   */
  normalize(minTracked: () => number): void {
    for (;;) {
      const f = Math.min(minTracked(), this.next);
      const first = this.ranges.first();
      if (!first || first[0] > f) {
        if (f !== this.floor) this.floor = f;
        return;
      }
      this.ranges.shift();
      // A range covering f: f is not tracked (settled seqs never are), so it is the scan position.
      if (first[1] >= f) this.next = Math.max(this.next, first[1] + 1);
    }
  }

  /** Resets the lane to settle everything below `floor` and nothing above (Seek, purge). */
  reset(floor: number): void {
    this.floor = floor;
    this.next = floor;
    this.ranges.clear();
    this.ready.clear();
    this.trackedSeqs.clear();
    this.loadMark = 0;
  }
}
