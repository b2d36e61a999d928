/**
 * A binary min-heap on a numeric priority. Entries are never removed from the middle: callers
 * check what they pop against their own state and drop stale entries (lazy deletion), which keeps
 * every operation O(log n) without back-pointers.
 */
export class MinHeap<T> {
  private readonly keys: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.keys.length;
  }

  push(key: number, item: T): void {
    const keys = this.keys;
    const items = this.items;
    let i = keys.length;
    keys.push(key);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((keys[parent] as number) <= key) break;
      keys[i] = keys[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    keys[i] = key;
    items[i] = item;
  }

  /** The smallest key, or undefined when empty. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  pop(): T | undefined {
    const keys = this.keys;
    const items = this.items;
    if (keys.length === 0) return undefined;
    const top = items[0] as T;
    const lastKey = keys.pop() as number;
    const lastItem = items.pop() as T;
    if (keys.length > 0) {
      keys[0] = lastKey;
      items[0] = lastItem;
      this.siftDown(0);
    }
    return top;
  }

  /** Keeps only the entries `keep` accepts (drops stale ones in one pass), in O(n). */
  retain(keep: (item: T, key: number) => boolean): void {
    const keys = this.keys;
    const items = this.items;
    let n = 0;
    for (let i = 0; i < keys.length; i++) {
      if (!keep(items[i] as T, keys[i] as number)) continue;
      keys[n] = keys[i] as number;
      items[n] = items[i] as T;
      n++;
    }
    keys.length = n;
    items.length = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const keys = this.keys;
    const items = this.items;
    const n = keys.length;
    const key = keys[i] as number;
    const item = items[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (keys[r] as number) < (keys[l] as number) ? r : l;
      if ((keys[c] as number) >= key) break;
      keys[i] = keys[c] as number;
      items[i] = items[c] as T;
      i = c;
    }
    keys[i] = key;
    items[i] = item;
  }

  clear(): void {
    this.keys.length = 0;
    this.items.length = 0;
  }
}
