/**
 * A set of seqs as sorted, disjoint, non-adjacent inclusive ranges: the settled seqs of a cursor
 * above its floor (acks out of order, acks by message id ahead of delivery, seqs stepped over).
 * Appending at the end, the common case, is O(1); anything else is a binary search plus a splice.
 * Every change notes the starts of the ranges it added, changed or removed ({@link takeChanged}),
 * so a cursor writes only those.
 */
export class RangeSet {
  /** Starts and ends (inclusive), in ascending order. */
  private starts: number[] = [];
  private ends: number[] = [];
  /** Starts of ranges added, changed or removed since the last {@link takeChanged}. */
  private changed = new Set<number>();

  /** The starts changed since the last call (a range now, or none any more), and forgets them. */
  takeChanged(): ReadonlySet<number> {
    const out = this.changed;
    if (out.size === 0) return NOTHING_CHANGED; // the common case (an untouched lane): no new set
    this.changed = new Set();
    return out;
  }

  /** The end of the range starting exactly at `start`, if there is one. */
  endAt(start: number): number | undefined {
    const i = this.find(start);
    return i >= 0 && this.starts[i] === start ? this.ends[i] : undefined;
  }

  get count(): number {
    return this.starts.length;
  }

  /** Index of the last range starting at or before `seq`, or -1. */
  private find(seq: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.starts[mid] as number) <= seq) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** The end of the range holding `seq`, if one does. */
  endOf(seq: number): number | undefined {
    const i = this.find(seq);
    return i >= 0 && seq <= (this.ends[i] as number) ? this.ends[i] : undefined;
  }

  /** The end of the last range ending before `seq`, if there is one. */
  endBefore(seq: number): number | undefined {
    let i = this.find(seq);
    if (i >= 0 && (this.ends[i] as number) >= seq) i--;
    return i >= 0 ? this.ends[i] : undefined;
  }

  /** The start of the first range starting after `seq` (infinite: none). */
  startAfter(seq: number): number {
    const i = this.find(seq) + 1;
    return i < this.starts.length ? (this.starts[i] as number) : Number.POSITIVE_INFINITY;
  }

  has(seq: number): boolean {
    const i = this.find(seq);
    return i >= 0 && seq <= (this.ends[i] as number);
  }

  /** Adds one seq, merging with neighbours. */
  add(seq: number): void {
    this.addRange(seq, seq);
  }

  /** Adds every seq in [a, b]. */
  addRange(a: number, b: number): void {
    if (b < a) return;
    const n = this.starts.length;
    // Fast path: at or after the end of the last range.
    if (n === 0 || a > (this.ends[n - 1] as number) + 1) {
      this.starts.push(a);
      this.ends.push(b);
      this.changed.add(a);
      return;
    }
    if (a >= (this.starts[n - 1] as number)) {
      if (b > (this.ends[n - 1] as number)) {
        this.ends[n - 1] = b;
        this.changed.add(this.starts[n - 1] as number);
      }
      return;
    }
    // General case: every range overlapping or adjacent to [a, b] merges into one.
    let i = this.find(a);
    if (i < 0 || (this.ends[i] as number) + 1 < a) i++;
    let j = i;
    let start = a;
    let end = b;
    while (j < n && (this.starts[j] as number) <= b + 1) {
      start = Math.min(start, this.starts[j] as number);
      end = Math.max(end, this.ends[j] as number);
      this.changed.add(this.starts[j] as number);
      j++;
    }
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, end);
    this.changed.add(start);
  }

  /** Drops every seq below `floor`. */
  removeBelow(floor: number): void {
    let k = 0;
    const n = this.starts.length;
    while (k < n && (this.ends[k] as number) < floor) this.changed.add(this.starts[k++] as number);
    if (k > 0) {
      this.starts.splice(0, k);
      this.ends.splice(0, k);
    }
    if (this.starts.length > 0 && (this.starts[0] as number) < floor) {
      this.changed.add(this.starts[0] as number);
      this.starts[0] = floor;
      this.changed.add(floor);
    }
  }

  /** Drops every seq in [a, b]: ranges inside it go, ranges across its ends are cut (or split). */
  removeRange(a: number, b: number): void {
    if (b < a) return;
    let i = this.find(a);
    if (i < 0 || (this.ends[i] as number) < a) i++;
    const pieces: Array<[number, number]> = [];
    let j = i;
    for (; j < this.starts.length && (this.starts[j] as number) <= b; j++) {
      const s = this.starts[j] as number;
      const e = this.ends[j] as number;
      this.changed.add(s);
      if (s < a) pieces.push([s, a - 1]);
      if (e > b) pieces.push([b + 1, e]);
    }
    if (j === i) return;
    this.starts.splice(i, j - i, ...pieces.map((p) => p[0]));
    this.ends.splice(i, j - i, ...pieces.map((p) => p[1]));
    for (const [s] of pieces) this.changed.add(s);
  }

  /** The `i`-th range in ascending order (0: the first), if there is one. */
  at(i: number): [number, number] | undefined {
    return i < this.starts.length ? [this.starts[i] as number, this.ends[i] as number] : undefined;
  }

  /** The first range, if any. */
  first(): [number, number] | undefined {
    return this.starts.length === 0 ? undefined : [this.starts[0] as number, this.ends[0] as number];
  }

  /** The largest seq in the set; 0 when empty. */
  max(): number {
    return this.ends.length === 0 ? 0 : (this.ends[this.ends.length - 1] as number);
  }

  /** Removes the first range (see {@link first}). */
  shift(): void {
    const start = this.starts.shift();
    this.ends.shift();
    if (start !== undefined) this.changed.add(start);
  }

  /** Every range as [start, end] pairs, in order. */
  entries(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i] as number]);
  }

  clear(): void {
    for (const start of this.starts) this.changed.add(start);
    this.starts = [];
    this.ends = [];
  }

  /** A copy (with no changes noted). */
  clone(): RangeSet {
    const c = new RangeSet();
    c.starts = [...this.starts];
    c.ends = [...this.ends];
    return c;
  }
}

const NOTHING_CHANGED: ReadonlySet<number> = new Set();
