/// <reference types="node" preserve="true" />

/**
 * Queues for coroutines: the "deliver to a queue" style of asynchronous interface.
 *
 * A producer `await queue.put(item)`s, a consumer `await queue.get()`s; with a `maxsize` the
 * producer waits while the queue is full, which is how a queue applies back-pressure. Items
 * are handed over in FIFO order by {@link Queue}, smallest first by {@link PriorityQueue} and
 * newest first by {@link LifoQueue}. `taskDone()` and `join()` let a producer wait until every
 * item has been processed.
 *
 * Nothing is lost: a `get()` or `put()` that timed out (or was cancelled) gives up its place,
 * so an item put afterwards goes to the next live getter; and an item whose `put()` was
 * waiting for room enters the queue before the `get()` that made room returns.
 *
 * @example
 * ```ts
 * import { Queue } from 'typhoon';
 * const q = new Queue<string>({ maxsize: 2 });
 * async function consumer() {
 *   for await (const item of q) {
 *     try {
 *       console.log('doing work on', item);
 *     } finally {
 *       q.taskDone();
 *     }
 *   }
 * }
 * void consumer();
 * for (const item of ['a', 'b', 'c']) await q.put(item);
 * await q.join(); // every item processed
 * ```
 * Tornado: `tornado.queues`.
 * @module typhoon/queues
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import { Future } from './concurrent.ts';
import { QueueEmpty, QueueFull, TimeoutError } from './errors.ts';
import { Event, type WaitOptions } from './locks.ts';
import { Deque } from './internal/deque.ts';
import { Heap } from './internal/heap.ts';

/** Options of the queue constructors. */
export interface QueueOptions {
  /** At most this many items; 0 (the default) means unbounded. Negative is a `RangeError`. */
  maxsize?: number;
}

/** Options of {@link PriorityQueue}. */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * Order of items: negative when `a` comes out first. Default: numbers, bigints, strings and
   * booleans by value, arrays element by element (like Python tuples, so `[priority, item]`
   * pairs work), anything else is a `TypeError` when two such items must be compared.
   */
  compare?: (a: T, b: T) => number;
}

/** The storage behind a queue: FIFO, heap or stack. */
interface Store<T> {
  readonly length: number;
  add(item: T): void;
  take(): T;
  [Symbol.iterator](): Iterator<T>;
}

class FifoStore<T> implements Store<T> {
  #items = new Deque<T>();
  get length(): number {
    return this.#items.length;
  }
  add(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.shift() as T;
  }
  [Symbol.iterator](): Iterator<T> {
    return this.#items[Symbol.iterator]();
  }
}

class LifoStore<T> implements Store<T> {
  #items: T[] = [];
  get length(): number {
    return this.#items.length;
  }
  add(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop() as T;
  }
  [Symbol.iterator](): Iterator<T> {
    return this.#items[Symbol.iterator]();
  }
}

class HeapStore<T> implements Store<T> {
  #items: Heap<T>;
  constructor(compare: (a: T, b: T) => number) {
    this.#items = new Heap(compare);
  }
  get length(): number {
    return this.#items.length;
  }
  add(item: T): void {
    this.#items.push(item);
  }
  take(): T {
    return this.#items.pop() as T;
  }
  [Symbol.iterator](): Iterator<T> {
    return this.#items[Symbol.iterator]();
  }
}

function typeName(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'array';
  if (typeof x === 'object') {
    const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name ? name : 'object';
  }
  return typeof x;
}

/**
 * The default order of a {@link PriorityQueue}: values of the same primitive type by value,
 * arrays element-wise and then by length, as Python compares tuples.
 */
export function defaultCompare(a: unknown, b: unknown): number {
  const ta = typeof a;
  if (
    ta === typeof b &&
    (ta === 'number' || ta === 'string' || ta === 'bigint' || ta === 'boolean')
  ) {
    const x = a as number;
    const y = b as number;
    if (Number.isNaN(x) || Number.isNaN(y)) throw new TypeError('cannot order NaN in a queue');
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = defaultCompare(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  throw new TypeError(
    `PriorityQueue cannot order ${typeName(a)} and ${typeName(b)}; ` +
      'use numbers, strings or [priority, item] arrays, or pass a compare function',
  );
}

function checkTimeout(timeout: number | undefined): void {
  if (timeout === undefined) return;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`timeout must be a number of milliseconds, got ${String(timeout)}`);
  }
  if (timeout < 0) throw new RangeError(`timeout must not be negative, got ${timeout}`);
}

// How a subclass chooses its storage without a public hook: its constructor puts the store
// here just before `super()`, and Queue's constructor takes it at once.
let nextStore: Store<unknown> | undefined;

/**
 * A FIFO queue for coroutines. `put` waits while the queue is full (when `maxsize` > 0),
 * `get` waits while it is empty; both take `{timeout}` and then reject with `TimeoutError`.
 * Iterate it with `for await` to get items forever.
 *
 * @example
 * ```ts
 * const q = new Queue<number>({ maxsize: 10 });
 * await q.put(1);
 * q.putNowait(2);
 * console.log(await q.get(), q.getNowait(), q.qsize()); // 1 2 0
 * ```
 * Tornado: `tornado.queues.Queue`.
 */
export class Queue<T = unknown> implements AsyncIterable<T> {
  readonly #maxsize: number;
  readonly #store: Store<T>;
  #getters = new Deque<Future<T>>();
  #putters = new Deque<[T, Future<void>]>();
  #unfinishedTasks = 0;
  #finished = new Event();

  constructor(options: QueueOptions = {}) {
    const maxsize = options.maxsize ?? 0;
    if (typeof maxsize !== 'number' || !Number.isInteger(maxsize)) {
      throw new TypeError(`maxsize must be an integer, got ${String(maxsize)}`);
    }
    if (maxsize < 0) throw new RangeError(`maxsize must be >= 0, got ${maxsize}`);
    this.#maxsize = maxsize;
    this.#store = (nextStore as Store<T> | undefined) ?? new FifoStore<T>();
    nextStore = undefined;
    this.#finished.set();
  }

  /** The most items the queue holds; 0 for unbounded. Tornado: `Queue.maxsize`. */
  get maxsize(): number {
    return this.#maxsize;
  }

  /** Number of items in the queue. Tornado: `Queue.qsize`. */
  qsize(): number {
    return this.#store.length;
  }

  /** True when there is no item. Tornado: `Queue.empty`. */
  empty(): boolean {
    return this.#store.length === 0;
  }

  /** True when `maxsize` items are in the queue (never for an unbounded one). */
  full(): boolean {
    return this.#maxsize > 0 && this.#store.length >= this.#maxsize;
  }

  /**
   * Put an item, waiting for room if the queue is full. With `timeout`, rejects with
   * `TimeoutError` if no room came in time (the item is then not put). Tornado: `Queue.put`.
   */
  put(item: T, options: WaitOptions = {}): Future<void> {
    checkTimeout(options.timeout);
    const future = new Future<void>();
    try {
      this.putNowait(item);
    } catch (error) {
      if (!(error instanceof QueueFull)) throw error;
      this.#putters.push([item, future]);
      this.#armTimeout(future, options.timeout);
      return future;
    }
    future.setResult();
    return future;
  }

  /**
   * Put an item without waiting: hand it to a waiting getter, or store it; throws `QueueFull`
   * when there is no room. Tornado: `Queue.put_nowait`.
   */
  putNowait(item: T): void {
    this.#consumeExpired();
    if (this.#getters.length > 0) {
      // Someone is waiting, so the queue is empty: the item goes straight through it.
      const getter = this.#getters.shift()!;
      this.#putInternal(item);
      getter.setResult(this.#store.take());
    } else if (this.full()) {
      throw new QueueFull();
    } else {
      this.#putInternal(item);
    }
  }

  /**
   * Take an item, waiting while the queue is empty. With `timeout`, rejects with
   * `TimeoutError` if none came in time; an item put later goes to the next getter.
   * Tornado: `Queue.get`.
   */
  get(options: WaitOptions = {}): Future<T> {
    checkTimeout(options.timeout);
    const future = new Future<T>();
    if (this.#putters.length > 0 || this.#store.length > 0) {
      try {
        future.setResult(this.getNowait());
        return future;
      } catch (error) {
        if (!(error instanceof QueueEmpty)) throw error;
      }
    }
    this.#getters.push(future);
    this.#armTimeout(future, options.timeout);
    return future;
  }

  /**
   * Take an item without waiting; throws `QueueEmpty` when there is none. If a `put()` was
   * waiting for room, its item enters the queue first. Tornado: `Queue.get_nowait`.
   */
  getNowait(): T {
    this.#consumeExpired();
    if (this.#putters.length > 0) {
      // The queue is full and a producer waits: let its item in, then take the next one.
      const [item, putter] = this.#putters.shift()!;
      this.#putInternal(item);
      putter.setResult();
      return this.#store.take();
    }
    if (this.#store.length > 0) return this.#store.take();
    throw new QueueEmpty();
  }

  /**
   * Say that an item taken with `get()` has been processed. When every item put has been
   * marked so, `join()` resolves. Called more times than items were put: `RangeError`.
   * Tornado: `Queue.task_done`.
   */
  taskDone(): void {
    if (this.#unfinishedTasks <= 0) throw new RangeError('taskDone() called too many times');
    this.#unfinishedTasks--;
    if (this.#unfinishedTasks === 0) this.#finished.set();
  }

  /**
   * Wait until every item put has been marked with `taskDone()`. With `timeout`, rejects
   * with `TimeoutError`. Tornado: `Queue.join`.
   */
  join(options: WaitOptions = {}): Future<void> {
    return this.#finished.wait(options);
  }

  /** Get items forever: each step is a `get()`. Tornado: `async for item in queue`. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async (): Promise<IteratorResult<T>> => ({ done: false, value: await this.get() }),
    };
  }

  /** A short description for logs: class, maxsize, size, waiters. */
  toString(): string {
    let text = `<${this.constructor.name} maxsize=${this.#maxsize} qsize=${this.qsize()}`;
    if (this.#getters.length) text += ` getters[${this.#getters.length}]`;
    if (this.#putters.length) text += ` putters[${this.#putters.length}]`;
    if (this.#unfinishedTasks) text += ` tasks=${this.#unfinishedTasks}`;
    return text + '>';
  }

  #putInternal(item: T): void {
    // Store first: if a PriorityQueue cannot order the item, nothing else has changed.
    this.#store.add(item);
    this.#unfinishedTasks++;
    this.#finished.clear();
  }

  // Drop waiters at the front that gave up (timed out or cancelled), so they take nothing.
  #consumeExpired(): void {
    const putters = this.#putters;
    while (putters.length > 0 && putters.peekFront()![1].done()) void putters.shift();
    const getters = this.#getters;
    while (getters.length > 0 && getters.peekFront()!.done()) void getters.shift();
  }

  #armTimeout(future: Future<unknown>, timeout: number | undefined): void {
    if (timeout === undefined) return;
    const timer = setTimeout(() => {
      if (future.done()) return;
      future.setException(new TimeoutError(`Queue wait timed out after ${timeout} ms`));
      // Sweep now, so an abandoned waiter at the front does not linger until the next call.
      this.#consumeExpired();
    }, timeout);
    future.addDoneCallback(() => clearTimeout(timer));
  }
}

/**
 * A queue that hands out the smallest item first. Items are numbers, strings, or arrays
 * compared element-wise — typically `[priority, item]` — unless a `compare` function is given.
 *
 * @example
 * ```ts
 * const q = new PriorityQueue<[number, string]>();
 * q.putNowait([1, 'medium']);
 * q.putNowait([0, 'high']);
 * q.putNowait([10, 'low']);
 * console.log(q.getNowait(), q.getNowait(), q.getNowait()); // [0,'high'] [1,'medium'] [10,'low']
 * ```
 * Tornado: `tornado.queues.PriorityQueue`.
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  constructor(options: PriorityQueueOptions<T> = {}) {
    if (options.compare !== undefined && typeof options.compare !== 'function') {
      throw new TypeError('PriorityQueue compare must be a function');
    }
    nextStore = new HeapStore<T>(
      options.compare ?? (defaultCompare as (a: T, b: T) => number),
    ) as Store<unknown>;
    try {
      super(options);
    } finally {
      nextStore = undefined;
    }
  }
}

/**
 * A queue that hands out the most recently put item first (a stack).
 *
 * @example
 * ```ts
 * const q = new LifoQueue<number>();
 * q.putNowait(3); q.putNowait(2); q.putNowait(1);
 * console.log(q.getNowait(), q.getNowait(), q.getNowait()); // 1 2 3
 * ```
 * Tornado: `tornado.queues.LifoQueue`.
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  constructor(options: QueueOptions = {}) {
    nextStore = new LifoStore<T>() as Store<unknown>;
    try {
      super(options);
    } finally {
      nextStore = undefined;
    }
  }
}
