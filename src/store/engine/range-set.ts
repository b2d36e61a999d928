/**
 * A set of seqs as sorted, disjoint, non-adjacent inclusive ranges: the acked seqs of a cursor
 * above its floor (acks out of order, or acks by message id ahead of delivery). Appending at the
 * end, the common case, is O(1); anything else is a binary search plus a splice.
 */
export class RangeSet {
  /** Starts and ends (inclusive), in ascending order. */
  private starts: number[] = [];
  private ends: number[] = [];

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
      return;
    }
    if (a >= (this.starts[n - 1] as number)) {
      if (b > (this.ends[n - 1] as number)) this.ends[n - 1] = b;
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
      j++;
    }
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, end);
  }

  /** Drops every seq below `floor`. */
  removeBelow(floor: number): void {
    let k = 0;
    const n = this.starts.length;
    while (k < n && (this.ends[k] as number) < floor) k++;
    if (k > 0) {
      this.starts.splice(0, k);
      this.ends.splice(0, k);
    }
    if (this.starts.length > 0 && (this.starts[0] as number) < floor) this.starts[0] = floor;
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
    this.starts.shift();
    this.ends.shift();
  }

  /** Every range as [start, end] pairs, in order. */
  entries(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i] as number]);
  }

  clear(): void {
    this.starts = [];
    this.ends = [];
  }

  /** A copy. */
  clone(): RangeSet {
    const c = new RangeSet();
    c.starts = [...this.starts];
    c.ends = [...this.ends];
    return c;
  }
}
