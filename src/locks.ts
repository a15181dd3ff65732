/// <reference types="node" preserve="true" />

/**
 * Coordination primitives for coroutines on one loop: {@link Condition}, {@link Event},
 * {@link Semaphore}, {@link BoundedSemaphore} and {@link Lock}.
 *
 * They are not thread locks: everything runs on one thread, so they exist to order
 * coroutines around `await` points — "only three downloads at once", "wait until the cache is
 * warm", "one writer at a time". Every wait accepts `{timeout}` in milliseconds.
 *
 * Two promises hold throughout:
 * - **Nothing is lost.** A waiter that timed out (or was cancelled) is skipped: it consumes
 *   neither a `notify()` nor a permit, which go to the next live waiter.
 * - **Fair.** Waiters are served first come, first served, and a released permit is handed
 *   straight to the oldest waiter, so a newcomer cannot overtake the queue.
 *
 * `acquire()` resolves to a {@link Releaser}, so a lock can be held for a scope with
 * `using _ = await lock.acquire()`, or around a function with `lock.run(fn)`.
 *
 * @example
 * ```ts
 * import { Lock } from 'typhoon';
 * const lock = new Lock();
 * async function update() {
 *   using _held = await lock.acquire();
 *   await writeFile(); // only one update() at a time gets here
 * }
 * ```
 * Tornado: `tornado.locks`.
 * @module typhoon/locks
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import { Future } from './concurrent.ts';
import { InvalidStateError, TimeoutError } from './errors.ts';
import { Deque } from './internal/deque.ts';

/** Options of every wait in this module. */
export interface WaitOptions {
  /** Give up after this many milliseconds. Omitted: wait as long as it takes. */
  timeout?: number;
}

function checkTimeout(timeout: number | undefined): void {
  if (timeout === undefined) return;
  if (typeof timeout !== 'number' || Number.isNaN(timeout)) {
    throw new TypeError(`timeout must be a number of milliseconds, got ${String(timeout)}`);
  }
  if (timeout < 0) throw new RangeError(`timeout must not be negative, got ${timeout}`);
}

/**
 * Arm a timer that completes `future` through `onTimeout` unless it is done first; the timer
 * is cleared when the future completes either way.
 */
function armTimeout(
  future: Future<unknown>,
  timeout: number | undefined,
  onTimeout: () => void,
): void {
  if (timeout === undefined) return;
  const timer = setTimeout(() => {
    if (!future.done()) onTimeout();
  }, timeout);
  future.addDoneCallback(() => clearTimeout(timer));
}

// After this many abandoned waiters, sweep them out of the middle of the queue so a stream of
// timeouts cannot grow it without bound while nobody notifies.
const SWEEP_THRESHOLD = 100;

// ---------------------------------------------------------------------------------------------
// Condition
// ---------------------------------------------------------------------------------------------

/**
 * A condition lets coroutines wait until another one tells them something happened.
 * `wait()` resolves `true` when notified, `false` when its timeout passed first (it does not
 * reject). `notify(n)` wakes up to `n` waiters, oldest first; `notifyAll()` wakes all.
 * Unlike a thread condition variable there is no lock to hold around it.
 *
 * @example
 * ```ts
 * const condition = new Condition();
 * async function waiter() {
 *   console.log('waiting');
 *   await condition.wait();
 *   console.log('woken');
 * }
 * void waiter();
 * condition.notify();
 * ```
 * Tornado: `tornado.locks.Condition`.
 */
export class Condition {
  #waiters = new Deque<Future<boolean>>();
  #abandoned = 0;

  /**
   * Wait for a notification. Resolves `true` when notified, `false` on timeout.
   * Tornado: `Condition.wait`.
   */
  wait(options: WaitOptions = {}): Future<boolean> {
    checkTimeout(options.timeout);
    const waiter = new Future<boolean>();
    this.#waiters.push(waiter);
    armTimeout(waiter, options.timeout, () => {
      waiter.setResult(false);
      this.#abandon();
    });
    // A waiter cancelled by its owner (e.g. a long poll whose client left) counts towards the
    // sweep too, so a queue nobody notifies does not keep every cancelled waiter forever.
    waiter.addDoneCallback((f) => {
      if (f.cancelled()) this.#abandon();
    });
    return waiter;
  }

  /** Wake up to `n` waiters (default 1), oldest first. Tornado: `Condition.notify`. */
  notify(n = 1): void {
    if (typeof n !== 'number' || Number.isNaN(n) || n < 0) {
      throw new RangeError(`notify count must be a non-negative number, got ${String(n)}`);
    }
    const woken: Array<Future<boolean>> = [];
    while (woken.length < n && this.#waiters.length > 0) {
      const waiter = this.#waiters.shift()!;
      if (waiter.done()) this.#abandoned = Math.max(0, this.#abandoned - 1);
      else woken.push(waiter);
    }
    for (const waiter of woken) waiter.setResult(true);
  }

  /** Wake every waiter. Tornado: `Condition.notify_all`. */
  notifyAll(): void {
    this.notify(this.#waiters.length);
  }

  /** Number of coroutines waiting (not counting those that gave up). */
  get waiting(): number {
    let n = 0;
    for (const waiter of this.#waiters) if (!waiter.done()) n++;
    return n;
  }

  #abandon(): void {
    if (++this.#abandoned > SWEEP_THRESHOLD) {
      this.#waiters.filterInPlace((w) => !w.done());
      this.#abandoned = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Event
// ---------------------------------------------------------------------------------------------

/**
 * A flag coroutines can wait for: `wait()` resolves as soon as the event is set (at once if
 * it already is). `clear()` resets it so later waits block again.
 *
 * @example
 * ```ts
 * const ready = new Event();
 * async function consumer() {
 *   await ready.wait({ timeout: 5000 }); // rejects with TimeoutError after 5 s
 *   console.log('ready');
 * }
 * void consumer();
 * ready.set();
 * ```
 * Tornado: `tornado.locks.Event`.
 */
export class Event {
  #value = false;
  #waiters = new Set<Future<void>>();

  /** True once `set()` was called (and `clear()` was not, since). Tornado: `Event.is_set`. */
  isSet(): boolean {
    return this.#value;
  }

  /** Set the flag and wake every waiter. Tornado: `Event.set`. */
  set(): void {
    if (this.#value) return;
    this.#value = true;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const waiter of waiters) if (!waiter.done()) waiter.setResult();
  }

  /** Reset the flag: waits block again until the next `set()`. Tornado: `Event.clear`. */
  clear(): void {
    this.#value = false;
  }

  /**
   * Wait until the event is set; with `timeout`, reject with `TimeoutError` if it is not set
   * in time. Tornado: `Event.wait`.
   */
  wait(options: WaitOptions = {}): Future<void> {
    checkTimeout(options.timeout);
    const waiter = new Future<void>();
    if (this.#value) {
      waiter.setResult();
      return waiter;
    }
    this.#waiters.add(waiter);
    // Leave the set when done however that happened (timeout or cancellation).
    waiter.addDoneCallback(() => this.#waiters.delete(waiter));
    armTimeout(waiter, options.timeout, () =>
      waiter.setException(new TimeoutError(`Event not set within ${options.timeout} ms`)),
    );
    return waiter;
  }
}

// ---------------------------------------------------------------------------------------------
// Semaphore
// ---------------------------------------------------------------------------------------------

/**
 * What `acquire()` resolves to: call `release()` once when done, or let `using` do it.
 * A second `release()` of the same releaser throws `InvalidStateError`; disposing after a
 * release does nothing.
 */
export interface Releaser extends Disposable {
  /** Give the permit (or lock) back. */
  release(): void;
}

function makeReleaser(release: () => void): Releaser {
  let released = false;
  return {
    release() {
      if (released) throw new InvalidStateError('already released');
      released = true;
      release();
    },
    [Symbol.dispose]() {
      if (released) return;
      released = true;
      release();
    },
  };
}

/**
 * A counter of permits: `acquire()` takes one, waiting while there are none; `release()`
 * gives one back. Use it to bound concurrency ("at most 3 at once").
 *
 * @example
 * ```ts
 * const slots = new Semaphore(3);
 * async function download(url: string) {
 *   return slots.run(() => fetch(url)); // at most three fetches in flight
 * }
 * ```
 * Tornado: `tornado.locks.Semaphore`.
 */
export class Semaphore {
  #value: number;
  #waiters = new Deque<Future<Releaser>>();
  #abandoned = 0;

  /** A semaphore with `value` permits (default 1). A negative value is a `RangeError`. */
  constructor(value = 1) {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      throw new TypeError(`Semaphore value must be an integer, got ${String(value)}`);
    }
    if (value < 0) throw new RangeError(`Semaphore initial value must be >= 0, got ${value}`);
    this.#value = value;
  }

  /** Permits available now. */
  get value(): number {
    return this.#value;
  }

  /**
   * Take a permit: resolves to a {@link Releaser} at once if one is free, otherwise when one
   * is released to this waiter (oldest waiter first). With `timeout`, rejects with
   * `TimeoutError` if none came in time, and the waiter gives up its place.
   * Tornado: `Semaphore.acquire`.
   */
  acquire(options: WaitOptions = {}): Future<Releaser> {
    checkTimeout(options.timeout);
    const waiter = new Future<Releaser>();
    if (this.#value > 0) {
      this.#value--;
      waiter.setResult(this.#releaser());
      return waiter;
    }
    this.#waiters.push(waiter);
    armTimeout(waiter, options.timeout, () => {
      waiter.setException(new TimeoutError(`not acquired within ${options.timeout} ms`));
      if (++this.#abandoned > SWEEP_THRESHOLD) {
        this.#waiters.filterInPlace((w) => !w.done());
        this.#abandoned = 0;
      }
    });
    return waiter;
  }

  /**
   * Give a permit back. If coroutines are waiting, the oldest live one gets it directly.
   * Tornado: `Semaphore.release`.
   */
  release(): void {
    this.#value++;
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters.shift()!;
      if (waiter.done()) {
        // Timed out or cancelled: it takes nothing.
        this.#abandoned = Math.max(0, this.#abandoned - 1);
        continue;
      }
      this.#value--;
      waiter.setResult(this.#releaser());
      break;
    }
  }

  /**
   * Run `fn` holding a permit and release it afterwards, also when `fn` throws. Resolves to
   * what `fn` returned.
   */
  async run<R>(fn: () => R | PromiseLike<R>, options: WaitOptions = {}): Promise<Awaited<R>> {
    const releaser = await this.acquire(options);
    try {
      return await fn();
    } finally {
      releaser.release();
    }
  }

  #releaser(): Releaser {
    return makeReleaser(() => this.release());
  }
}

/**
 * A {@link Semaphore} that refuses to be released more times than it was acquired: a release
 * that would push the count past the initial value throws `RangeError`, catching
 * double-release bugs early.
 *
 * @example
 * ```ts
 * const sem = new BoundedSemaphore(2);
 * sem.release(); // RangeError: released too many times
 * ```
 * Tornado: `tornado.locks.BoundedSemaphore`.
 */
export class BoundedSemaphore extends Semaphore {
  readonly #initial: number;

  constructor(value = 1) {
    super(value);
    this.#initial = value;
  }

  /** Give a permit back; `RangeError` if that would exceed the initial value. */
  override release(): void {
    if (this.value >= this.#initial) {
      throw new RangeError('BoundedSemaphore released too many times');
    }
    super.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------------------------

/**
 * A mutual-exclusion lock for coroutines: one holder at a time, waiters served in the order
 * they asked (FIFO-fair). `acquire({timeout})` resolves to a {@link Releaser} (or rejects with
 * `TimeoutError`); `run(fn)` holds the lock around `fn`. Releasing an unlocked lock throws
 * `InvalidStateError`.
 *
 * @example
 * ```ts
 * const lock = new Lock();
 * await lock.run(async () => {
 *   // critical section
 * });
 * {
 *   using _held = await lock.acquire({ timeout: 1000 });
 *   // also a critical section; released at the end of the block
 * }
 * ```
 * Tornado: `tornado.locks.Lock`.
 */
export class Lock extends BoundedSemaphore {
  // A Lock is a BoundedSemaphore(1) with its own error for a release while unlocked; being a
  // subclass means the releasers handed out by `acquire()` call this `release()` too.
  constructor() {
    super(1);
  }

  /** Release the lock; `InvalidStateError` if it is not locked. Tornado: `Lock.release`. */
  override release(): void {
    if (!this.locked()) throw new InvalidStateError('release unlocked lock');
    super.release();
  }

  /** True while someone holds the lock. */
  locked(): boolean {
    return this.value === 0;
  }
}
