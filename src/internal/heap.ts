/**
 * A binary min-heap ordered by a comparison function: `push` and `pop` in O(log n), `peek`
 * in O(1). `PriorityQueue` keeps its items here.
 *
 * Why `push` compares before it moves anything: a comparison may throw (two items that cannot
 * be ordered). Finding the new item's place first and only then shifting parents down keeps
 * the heap intact when that happens.
 * @module
 */

/** Negative when `a` comes first, positive when `b` does, 0 when equal. */
export type Compare<T> = (a: T, b: T) => number;

/** A binary min-heap. Internal to typhoon. */
export class Heap<T> {
  #items: T[] = [];
  #compare: Compare<T>;

  constructor(compare: Compare<T>) {
    this.#compare = compare;
  }

  /** Number of items. */
  get length(): number {
    return this.#items.length;
  }

  /** The smallest item, or `undefined` when empty. */
  peek(): T | undefined {
    return this.#items[0];
  }

  /** Add an item. If the comparison throws, the heap is left as it was. */
  push(item: T): void {
    const items = this.#items;
    // First pass: find the slot, comparing only.
    let index = items.length;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.#compare(item, items[parent]!) >= 0) break;
      index = parent;
    }
    // Second pass: move the parents on the path down one level each, then place the item.
    let hole = items.length;
    items.push(item);
    while (hole > index) {
      const parent = (hole - 1) >> 1;
      items[hole] = items[parent]!;
      hole = parent;
    }
    items[index] = item;
  }

  /** Remove and return the smallest item, or `undefined` when empty. */
  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const top = items[0];
    const last = items.pop()!;
    if (items.length > 0) {
      // Sift `last` down from the root. Items already in the heap were compared when they
      // went in, so these comparisons are between items known to be comparable.
      const n = items.length;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && this.#compare(items[right]!, items[left]!) < 0 ? right : left;
        if (this.#compare(items[child]!, last) >= 0) break;
        items[index] = items[child]!;
        index = child;
      }
      items[index] = last;
    }
    return top;
  }

  /** Items in heap (not sorted) order. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.#items[Symbol.iterator]();
  }
}
