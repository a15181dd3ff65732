/**
 * A double-ended queue on a growable ring buffer: O(1) `push`, `shift`, `pop` and `unshift`
 * without the O(n) cost `Array.prototype.shift` has on large arrays.
 *
 * Why a ring: queues and lock waiters are consumed from the front while new entries arrive at
 * the back. An array would move every element on each `shift`; the ring only moves two
 * indices and doubles its storage when full.
 *
 * ```
 *   storage: [ d | e | . | . | a | b | c ]      head = 4, length = 5
 *                      ^tail     ^head
 * ```
 * @module
 */

/** A FIFO/LIFO sequence with constant-time operations at both ends. Internal to typhoon. */
export class Deque<T> {
  #items: Array<T | undefined>;
  #head = 0;
  #length = 0;
  // Capacity is always a power of two so that `& mask` replaces `%`.
  #mask: number;

  constructor(initialCapacity = 16) {
    let capacity = 4;
    while (capacity < initialCapacity) capacity *= 2;
    this.#items = new Array<T | undefined>(capacity);
    this.#mask = capacity - 1;
  }

  /** Number of items. */
  get length(): number {
    return this.#length;
  }

  /** Add at the back. */
  push(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = item;
    this.#length++;
  }

  /** Add at the front. */
  unshift(item: T): void {
    if (this.#length > this.#mask) this.#grow();
    this.#head = (this.#head - 1) & this.#mask;
    this.#items[this.#head] = item;
    this.#length++;
  }

  /** Remove and return the front item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    // Drop the reference so the ring does not keep consumed items alive.
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    this.#length--;
    return item;
  }

  /** Remove and return the back item, or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    const index = (this.#head + this.#length - 1) & this.#mask;
    const item = this.#items[index];
    this.#items[index] = undefined;
    this.#length--;
    return item;
  }

  /** The front item without removing it. */
  peekFront(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** The back item without removing it. */
  peekBack(): T | undefined {
    return this.#length === 0
      ? undefined
      : this.#items[(this.#head + this.#length - 1) & this.#mask];
  }

  /** Keep only the items for which `keep` returns true, preserving order. O(n). */
  filterInPlace(keep: (item: T) => boolean): void {
    const kept: T[] = [];
    for (const item of this) if (keep(item)) kept.push(item);
    this.clear();
    for (const item of kept) this.push(item);
  }

  /** Remove every item. */
  clear(): void {
    this.#items.fill(undefined);
    this.#head = 0;
    this.#length = 0;
  }

  /** Items front to back. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    const old = this.#items;
    const capacity = old.length * 2;
    const items = new Array<T | undefined>(capacity);
    for (let i = 0; i < this.#length; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#head = 0;
    this.#mask = capacity - 1;
  }
}
