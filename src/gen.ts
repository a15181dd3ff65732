/// <reference types="node" preserve="true" />

/**
 * Generator coroutines and the tools for waiting on many things at once.
 *
 * Native `async`/`await` is typhoon's first-class coroutine. This module adds Tornado's
 * generator-based coroutine, `coroutine(function* () { const r = yield f; })`, for code ported
 * from Tornado and for the cases where it is faster: the runner looks at a yielded
 * {@link Future} and, when it is already done, sends its result straight back into the
 * generator without waiting for a microtask. Everything else here works with any awaitable
 * and with `async` functions too:
 *
 * - {@link multi} waits for an array or a plain object of awaitables in parallel and gives the
 *   results in the same shape (a generator may simply `yield [a, b]` or `yield {a, b}`);
 * - {@link withTimeout} bounds a wait; {@link sleep} and {@link moment} pause;
 * - {@link WaitIterator} hands results over in the order they finish;
 * - {@link Task} and {@link fromCallback} turn callback-style functions into Futures.
 *
 * What a generator coroutine may yield: a `Future`, a `Promise` or any thenable, an array or a
 * plain object of those, {@link moment}, or `null`/`undefined` (the same as `moment`).
 * Anything else is thrown back into the generator as a `TypeError` at that `yield`.
 *
 * @example
 * ```ts
 * import { coroutine, sleep } from 'typhoon';
 * const fetchBoth = coroutine(function* (a: string, b: string) {
 *   const [ra, rb] = yield [fetchThing(a), fetchThing(b)]; // in parallel
 *   yield sleep(10);
 *   return ra + rb;
 * });
 * console.log(await fetchBoth('x', 'y'));
 * ```
 * Tornado: `tornado.gen`.
 * @module typhoon/gen
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import { Future, chainFuture, isThenable, reactWhenDone, toFuture } from './concurrent.ts';
import { CancelledError, InvalidStateError, TimeoutError } from './errors.ts';
import { appLog, genLog } from './log.ts';
import { isGeneratorObject, isPlainObject, type AnyGenerator } from './internal/guards.ts';

/** An error class, or a list of them, whose instances are not logged. */
export type QuietExceptions =
  | (abstract new (...args: never[]) => unknown)
  | ReadonlyArray<abstract new (...args: never[]) => unknown>;

/** Options of {@link multi} and {@link withTimeout}. */
export interface QuietOptions {
  /** Failures of these classes are not logged (the first failure of `multi` is still raised). */
  quietExceptions?: QuietExceptions;
}

/** The result of waiting for an array or object of awaitables: same shape, values awaited. */
export type MultiResult<T> = { -readonly [K in keyof T]: Awaited<T[K]> };

// ---------------------------------------------------------------------------------------------
// moment
// ---------------------------------------------------------------------------------------------

/**
 * Yield (or `await`) this to let the loop run one iteration — pending I/O and other callbacks
 * — before carrying on. Useful to break up a long computation so it does not starve the loop.
 *
 * @example
 * ```ts
 * const work = coroutine(function* () {
 *   for (let i = 0; i < 1e6; i++) if (i % 1000 === 0) yield moment;
 * });
 * await moment; // also works in async functions
 * ```
 * Tornado: `tornado.gen.moment`.
 */
export const moment: PromiseLike<void> = Object.freeze({
  then<R1 = void, R2 = never>(
    onFulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    return new Promise<void>((resolve) => setImmediate(resolve)).then(onFulfilled, onRejected);
  },
});

function describe(x: unknown): string {
  if (typeof x === 'string')
    return `${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '…' : x)} (string)`;
  if (typeof x === 'function') return `function ${x.name || '<anonymous>'}`;
  if (typeof x === 'object' && x !== null) {
    const name = (x as { constructor?: { name?: unknown } }).constructor?.name;
    return `an instance of ${typeof name === 'string' && name ? name : 'Object'}`;
  }
  return `${String(x)} (${typeof x})`;
}

function isQuiet(error: unknown, quiet: QuietExceptions | undefined): boolean {
  if (quiet === undefined) return false;
  if (typeof quiet === 'function') return error instanceof quiet;
  for (const cls of quiet) if (error instanceof cls) return true;
  return false;
}

/** A Future finished after one iteration of the loop (what `moment` and `null` become). */
function momentFuture(): Future<void> {
  const future = new Future<void>();
  setImmediate(() => {
    if (!future.done()) future.setResult();
  });
  return future;
}

/**
 * Turn anything a coroutine may yield into a Future: a Future as it is, a thenable followed by
 * a new Future, an array or plain object through {@link multi}, `moment`/`null`/`undefined`
 * into a Future finished after one loop iteration. Anything else throws a `TypeError` naming
 * it.
 *
 * @example
 * ```ts
 * const f = convertYielded([fetchA(), fetchB()]); // Future<[A, B]>
 * ```
 * Tornado: `tornado.gen.convert_yielded`.
 */
export function convertYielded(yielded: unknown): Future<unknown> {
  if (yielded instanceof Future) return yielded;
  if (yielded === null || yielded === undefined || yielded === moment) return momentFuture();
  if (isThenable(yielded)) return toFuture(yielded);
  if (Array.isArray(yielded) || isPlainObject(yielded)) {
    return multi(yielded as readonly unknown[]) as Future<unknown>;
  }
  throw new TypeError(`yielded unknown object ${describe(yielded)}`);
}

// ---------------------------------------------------------------------------------------------
// coroutine
// ---------------------------------------------------------------------------------------------

/**
 * Drives one generator: sends each yielded thing's outcome back in, until it returns.
 *
 * The fast path is the point of the design: a yielded Future that is already done is
 * resumed in the same loop turn, so a coroutine working on completed Futures costs no
 * microtasks at all (see bench/coroutine.bench.ts). Only a pending wait registers callbacks.
 */
class Runner {
  readonly gen: AnyGenerator;
  readonly result: Future<unknown>;
  // What the generator waits on now (a Future, thenable or `moment`), null while running.
  waiting: unknown = null;
  // Bumped on every wait and on cancellation, so a stale thenable/moment callback is ignored.
  waitId = 0;
  finished = false;
  cancelSeen = false;
  // The one wake-up function of this coroutine: the reaction for every Future it waits on and
  // the done-callback on its own result Future (to see cancellation). Made at the first wait
  // that does not complete at once, so a coroutine that never waits allocates no closure, and
  // reused for every wait after that.
  onWake: (() => void) | null = null;

  constructor(gen: AnyGenerator, result: Future<unknown>) {
    this.gen = gen;
    this.result = result;
  }

  step(isError: boolean, value: unknown): void {
    const gen = this.gen;
    for (;;) {
      let next: IteratorResult<unknown, unknown>;
      try {
        next = isError ? gen.throw(value) : gen.next(value);
      } catch (error) {
        this.finish(true, error);
        return;
      }
      if (next.done === true) {
        this.finish(false, next.value);
        return;
      }
      let yielded = next.value;
      if (!(yielded instanceof Future)) {
        if (yielded === null || yielded === undefined || yielded === moment) {
          this.waitMoment();
          return;
        }
        if (isThenable(yielded)) {
          this.waitThenable(yielded);
          return;
        }
        if (Array.isArray(yielded) || isPlainObject(yielded)) {
          try {
            yielded = multi(yielded as readonly unknown[]);
          } catch (error) {
            isError = true;
            value = error;
            continue;
          }
        } else {
          isError = true;
          value = new TypeError(`yielded unknown object ${describe(yielded)}`);
          continue;
        }
      }
      const future = yielded as Future<unknown>;
      if (!future.done()) {
        this.waitFuture(future);
        return;
      }
      // Fast path: already done, resume synchronously.
      try {
        value = future.result();
        isError = false;
      } catch (error) {
        value = error;
        isError = true;
      }
    }
  }

  finish(isError: boolean, value: unknown): void {
    this.finished = true;
    this.waiting = null;
    const result = this.result;
    // Stop watching the result for cancellation before completing it, so completing it does
    // not schedule a done-callback that would only find out there is nothing to do.
    if (this.onWake !== null) result.removeDoneCallback(this.onWake);
    if (result.done()) {
      // Cancelled (or completed from outside): the outcome has nowhere to go. A real failure
      // is still reported rather than dropped.
      if (isError && !(value instanceof CancelledError)) {
        appLog.error('Exception in coroutine after its Future was done', value);
      }
      return;
    }
    if (isError) result.setException(value);
    else if (isThenable(value)) chainFuture(value, result);
    else result.setResult(value);
  }

  // Called before every suspension: from the first one on, the result Future is watched for
  // cancellation (by the same function that is woken by waited-on Futures).
  suspend(): () => void {
    let onWake = this.onWake;
    if (onWake === null) {
      onWake = this.onWake = () => this.wake();
      this.result.addDoneCallback(onWake);
    }
    return onWake;
  }

  // Wait for a pending Future as `await` does: a reaction on its native promise, which its
  // completion queues directly (measured: 10 waits on pending Futures went from 1.7x to about
  // 1.2x the same async function; done-callbacks cost a drain to schedule per completion).
  waitFuture(future: Future<unknown>): void {
    this.waitId++;
    this.waiting = future;
    reactWhenDone(future, this.suspend());
  }

  // Runs for a waited-on Future's reaction and for the result's done-callback. A wake-up that
  // is stale (a Future abandoned by a cancellation) or early (the result completed from
  // outside) finds nothing to do: the generator is resumed only with the outcome of the Future
  // it waits on now, and only once that one is done.
  wake(): void {
    if (this.finished) return;
    if (!this.cancelSeen && this.result.cancelled()) {
      this.cancelled();
      return;
    }
    const waiting = this.waiting;
    if (!(waiting instanceof Future) || !waiting.done()) return;
    this.waiting = null;
    let value: unknown;
    try {
      value = waiting.result();
    } catch (error) {
      this.step(true, error);
      return;
    }
    this.step(false, value);
  }

  waitThenable(thenable: PromiseLike<unknown>): void {
    const id = ++this.waitId;
    this.waiting = thenable;
    this.suspend();
    try {
      thenable.then(
        (value) => {
          if (this.waitId !== id) return;
          this.waiting = null;
          this.step(false, value);
        },
        (error: unknown) => {
          if (this.waitId !== id) return;
          this.waiting = null;
          this.step(true, error);
        },
      );
    } catch (error) {
      // A thenable whose `then` throws: that is its failure, delivered at the yield.
      this.waitId++;
      this.waiting = null;
      this.step(true, error);
    }
  }

  waitMoment(): void {
    const id = ++this.waitId;
    this.waiting = moment;
    this.suspend();
    setImmediate(() => {
      if (this.waitId !== id) return;
      this.waiting = null;
      this.step(false, undefined);
    });
  }

  // The result was cancelled while the generator waits: throw `CancelledError` in at the
  // `yield` (so its `finally` blocks run). The abandoned wait may still wake us later; `wake`
  // ignores that.
  cancelled(): void {
    this.cancelSeen = true;
    if (this.waiting === null) return;
    this.waitId++;
    this.waiting = null;
    let error: unknown;
    try {
      this.result.result();
    } catch (e) {
      error = e;
    }
    this.step(true, error);
  }
}

/** A generator function usable with {@link coroutine}. */
export type GeneratorFunction<This, A extends unknown[], R> = (
  this: This,
  ...args: A
  // The value sent back at a `yield` depends on what was yielded, so it is `any` by design.
) => Generator<unknown, R, any>;

/**
 * Turn a generator function into a function that returns a {@link Future} of its return
 * value. Inside, `const x = yield awaitable` waits for `awaitable` and gives its value; a
 * failure is thrown at the `yield`, so `try/catch/finally` read as in synchronous code.
 *
 * - The generator runs synchronously up to its first `yield` of something unfinished; one that
 *   never waits returns an already-done Future. `this` is passed through.
 * - Yielding an array or a plain object waits for all of them in parallel ({@link multi}).
 * - Cancelling the returned Future throws `CancelledError` into the generator at the `yield`
 *   where it waits, so its `finally` blocks run.
 * - A plain (non-generator) function is also accepted: its return value (or awaited result,
 *   or thrown error) becomes the Future's outcome.
 *
 * @example
 * ```ts
 * class Handler {
 *   greeting = 'hi';
 *   get = coroutine(function* (this: Handler, name: string) {
 *     const user = yield db.load(name);
 *     return `${this.greeting} ${user.nick}`;
 *   });
 * }
 * ```
 * Tornado: `tornado.gen.coroutine`.
 */
export function coroutine<This, A extends unknown[], R>(
  fn: GeneratorFunction<This, A, R>,
): (this: This, ...args: A) => Future<R>;
export function coroutine<This, A extends unknown[], R>(
  fn: (this: This, ...args: A) => R,
): (this: This, ...args: A) => Future<Awaited<R>>;
export function coroutine<This, A extends unknown[]>(
  fn: (this: This, ...args: A) => unknown,
): (this: This, ...args: A) => Future<unknown> {
  if (typeof fn !== 'function') {
    throw new TypeError(`coroutine expects a generator function, got ${describe(fn)}`);
  }
  const wrapper = function (this: This, ...args: A): Future<unknown> {
    const result = new Future<unknown>();
    let returned: unknown;
    try {
      returned = fn.apply(this, args);
    } catch (error) {
      result.setException(error);
      return result;
    }
    if (isGeneratorObject(returned)) new Runner(returned, result).step(false, undefined);
    else if (isThenable(returned)) chainFuture(returned, result);
    else result.setResult(returned);
    return result;
  };
  Object.defineProperty(wrapper, 'name', { value: fn.name, configurable: true });
  return wrapper;
}

// ---------------------------------------------------------------------------------------------
// multi
// ---------------------------------------------------------------------------------------------

/**
 * Wait for every awaitable in an array or a plain object, in parallel; the Future gives the
 * results in the same shape. As in Tornado, every child is allowed to finish (none is left
 * dangling); then, if any failed, the Future fails with the error of the first failed child
 * in input order, and the other failures are logged on `genLog` unless they are instances of
 * `quietExceptions`. Children may themselves be arrays or objects (waited for recursively).
 *
 * @example
 * ```ts
 * const [a, b] = await multi([fetchA(), fetchB()]);
 * const { user, posts } = await multi({ user: loadUser(id), posts: loadPosts(id) });
 * await multi([mayFail1(), mayFail2()], { quietExceptions: StreamClosedError });
 * ```
 * Tornado: `tornado.gen.multi` (and `multi_future`).
 */
export function multi<const T extends readonly unknown[] | Record<string, unknown>>(
  children: T,
  options: QuietOptions = {},
): Future<MultiResult<T>> {
  let keys: string[] | null = null;
  let values: readonly unknown[];
  if (Array.isArray(children)) {
    values = children as readonly unknown[];
  } else if (isPlainObject(children)) {
    keys = Object.keys(children);
    values = keys.map((k) => (children as Record<string, unknown>)[k]);
  } else {
    throw new TypeError(`multi expects an array or a plain object, got ${describe(children)}`);
  }
  const n = values.length;
  const futures = new Array<Future<unknown>>(n);
  let pending = 0;
  for (let i = 0; i < n; i++) {
    const f = convertYielded(values[i]);
    futures[i] = f;
    if (!f.done()) pending++;
  }
  const result = new Future<MultiResult<T>>();
  const quiet = options.quietExceptions;
  const complete = (): void => {
    const results = new Array<unknown>(n);
    let failed = false;
    let firstError: unknown;
    for (let i = 0; i < n; i++) {
      const f = futures[i]!;
      try {
        results[i] = f.result();
      } catch (error) {
        if (!failed) {
          failed = true;
          firstError = error;
        } else if (!isQuiet(error, quiet)) {
          genLog.error('Multiple exceptions in yield list', error);
        }
      }
    }
    if (result.done()) {
      if (failed && !isQuiet(firstError, quiet) && !(firstError instanceof CancelledError)) {
        appLog.error('Exception in multi after its Future was cancelled', firstError);
      }
      return;
    }
    if (failed) result.setException(firstError);
    else if (keys === null) result.setResult(results as MultiResult<T>);
    else
      result.setResult(Object.fromEntries(keys.map((k, i) => [k, results[i]])) as MultiResult<T>);
  };
  if (pending === 0) {
    complete();
    return result;
  }
  const onChildDone = (): void => {
    if (--pending === 0) complete();
  };
  for (let i = 0; i < n; i++) {
    const f = futures[i]!;
    if (!f.done()) f.addDoneCallback(onChildDone);
  }
  return result;
}

/**
 * The same as {@link multi}; Tornado keeps both names (`multi` also accepted old-style yield
 * points there).
 *
 * @example
 * ```ts
 * const [a, b] = await multiFuture([fetchA(), fetchB()]);
 * ```
 * Tornado: `tornado.gen.multi_future`.
 */
export const multiFuture: typeof multi = multi;

// ---------------------------------------------------------------------------------------------
// Timeouts and sleeping
// ---------------------------------------------------------------------------------------------

function checkMs(name: string, ms: unknown): number {
  if (typeof ms !== 'number' || Number.isNaN(ms)) {
    throw new TypeError(`${name} must be a number of milliseconds, got ${describe(ms)}`);
  }
  if (ms < 0) throw new RangeError(`${name} must not be negative, got ${ms}`);
  return ms;
}

/**
 * A Future that follows `awaitable` but fails with `TimeoutError` if it has not finished
 * within `timeoutMs`. The wrapped operation is **not** cancelled (it may be shared, or not
 * cancellable); if it fails later, that failure is logged on `appLog` unless it is an instance
 * of `quietExceptions`.
 *
 * @example
 * ```ts
 * try {
 *   const response = await withTimeout(fetchSomething(), 5000);
 * } catch (err) {
 *   if (err instanceof TimeoutError) console.log('too slow');
 * }
 * ```
 * Tornado: `tornado.gen.with_timeout` (an absolute deadline or a `timedelta` there; a
 * relative number of milliseconds here).
 */
export function withTimeout<T>(
  awaitable: PromiseLike<T> | Future<T>,
  timeoutMs: number,
  options: QuietOptions = {},
): Future<T> {
  checkMs('withTimeout timeout', timeoutMs);
  const inner = convertYielded(awaitable) as Future<T>;
  const result = new Future<T>();
  chainFuture(inner, result);
  if (inner.done()) return result;
  const quiet = options.quietExceptions;
  const timer = setTimeout(() => {
    if (result.done()) return;
    result.setException(new TimeoutError(`Timeout after ${timeoutMs} ms`));
    inner.addDoneCallback((f) => {
      if (f.cancelled()) return;
      const error = f.exception();
      if (error !== undefined && !isQuiet(error, quiet) && !(error instanceof CancelledError)) {
        appLog.error('Exception in Future after timeout', error);
      }
    });
  }, timeoutMs);
  result.addDoneCallback(() => clearTimeout(timer));
  return result;
}

/**
 * A Future finished after `ms` milliseconds. Cancelling it clears its timer. Use it inside a
 * coroutine (`yield sleep(100)`) or an async function (`await sleep(100)`) — never block the
 * loop with a busy wait.
 *
 * @example
 * ```ts
 * await sleep(250);
 * ```
 * Tornado: `tornado.gen.sleep` (seconds there).
 */
export function sleep(ms: number): Future<void> {
  checkMs('sleep duration', ms);
  const future = new Future<void>();
  const timer = setTimeout(() => {
    if (!future.done()) future.setResult();
  }, ms);
  future.addDoneCallback((f) => {
    if (f.cancelled()) clearTimeout(timer);
  });
  return future;
}

// ---------------------------------------------------------------------------------------------
// WaitIterator
// ---------------------------------------------------------------------------------------------

/**
 * Hands over the results of several awaitables in the order they finish, telling which one
 * finished through {@link WaitIterator.currentIndex} (a position for an array, a key for an
 * object). Build it from an array, a plain object, or separate arguments.
 *
 * @example
 * ```ts
 * const it = new WaitIterator({ a: fetchA(), b: fetchB() });
 * while (!it.done()) {
 *   try {
 *     const result = await it.next();
 *     console.log(it.currentIndex, 'gave', result);
 *   } catch (err) {
 *     console.log(it.currentIndex, 'failed', err);
 *   }
 * }
 * // or: for await (const result of new WaitIterator([f1, f2])) { … }
 * ```
 * Tornado: `tornado.gen.WaitIterator`.
 */
export class WaitIterator<T = unknown> implements AsyncIterable<T> {
  /** Index (array) or key (object) of the awaitable whose result `next()` gave last. */
  currentIndex: number | string | null = null;
  /** The Future whose result `next()` gave last. */
  currentFuture: Future<T> | null = null;
  #finished: Array<[number | string, Future<T>]> = [];
  #finishedHead = 0;
  #unfinished = 0;
  #running: Future<T> | null = null;

  constructor(
    ...args:
      | [ReadonlyArray<PromiseLike<T> | Future<T>>]
      | [Record<string, PromiseLike<T> | Future<T>>]
      | Array<PromiseLike<T> | Future<T>>
  ) {
    let entries: Array<[number | string, unknown]>;
    const only = args.length === 1 ? args[0] : undefined;
    if (Array.isArray(only)) entries = only.map((f, i) => [i, f]);
    else if (isPlainObject(only)) entries = Object.keys(only).map((k) => [k, only[k]]);
    else entries = args.map((f, i) => [i, f]);
    for (const [key, child] of entries) {
      const future = convertYielded(child) as Future<T>;
      this.#unfinished++;
      future.addDoneCallback(() => this.#onDone(key, future));
    }
  }

  /** True when every result has been handed out by {@link WaitIterator.next}. */
  done(): boolean {
    if (this.#finished.length === this.#finishedHead && this.#unfinished === 0) {
      this.currentIndex = null;
      this.currentFuture = null;
      return true;
    }
    return false;
  }

  /**
   * A Future for the next result to finish (it fails if that awaitable failed). Throws
   * `InvalidStateError` when the iterator is exhausted or a previous `next()` is still
   * pending.
   */
  next(): Future<T> {
    if (this.#running !== null && !this.#running.done()) {
      throw new InvalidStateError('WaitIterator.next() called while a previous next() is pending');
    }
    if (this.done()) throw new InvalidStateError('WaitIterator is exhausted');
    const running = new Future<T>();
    this.#running = running;
    if (this.#finishedHead < this.#finished.length) {
      const [key, future] = this.#finished[this.#finishedHead]!;
      this.#finished[this.#finishedHead++] = undefined as never;
      this.#deliver(key, future);
    }
    return running;
  }

  #onDone(key: number | string, future: Future<T>): void {
    this.#unfinished--;
    if (this.#running !== null && !this.#running.done()) this.#deliver(key, future);
    else this.#finished.push([key, future]);
  }

  #deliver(key: number | string, future: Future<T>): void {
    const running = this.#running!;
    this.currentIndex = key;
    this.currentFuture = future;
    if (running.done()) return; // cancelled by its caller
    try {
      running.setResult(future.result());
    } catch (error) {
      running.setException(error);
    }
  }

  /** Iterate the results in completion order; a failed one throws at its turn. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: async (): Promise<IteratorResult<T>> => {
        if (this.done()) return { done: true, value: undefined };
        return { done: false, value: await this.next() };
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Callback adapters
// ---------------------------------------------------------------------------------------------

/**
 * Call a callback-style function and get a Future of what it passes to its callback. `fn`
 * receives `args` followed by a callback whose first argument is the result (Tornado's
 * callback convention). A synchronous throw fails the Future; later calls of the callback are
 * ignored.
 *
 * @example
 * ```ts
 * function legacyFetch(url: string, callback: (body: string) => void) { … }
 * const body = await Task(legacyFetch, 'http://example.com/');
 * ```
 * Tornado: `tornado.gen.Task` (removed in Tornado 6; kept here for the guide's examples).
 */
export function Task<A extends unknown[], R>(
  fn: (...args: [...A, (result: R) => void]) => unknown,
  ...args: A
): Future<R> {
  const future = new Future<R>();
  const callback = (result: R): void => {
    if (!future.done()) future.setResult(result);
  };
  callWithCallback(future, 'Task', () => fn(...args, callback));
  return future;
}

/** A Node-style callback: an error (null/undefined when none), then the value. */
export type NodeCallback<R> = (error: unknown, value?: R) => void;

/**
 * Call a Node-style function, `fn(...args, (err, value) => …)`, and get a Future of `value`,
 * failed with `err` when it is not null/undefined. Later calls of the callback are ignored.
 *
 * @example
 * ```ts
 * import { readFile } from 'node:fs';
 * const data = await fromCallback(readFile, '/etc/hostname');
 * ```
 * Tornado: none (it is `util.promisify` called once); the Node twin of {@link Task}.
 */
export function fromCallback<A extends unknown[], R>(
  fn: (...args: [...A, NodeCallback<R>]) => unknown,
  ...args: A
): Future<R> {
  const future = new Future<R>();
  const callback: NodeCallback<R> = (error, value) => {
    if (future.done()) return;
    if (error !== null && error !== undefined) future.setException(error);
    else future.setResult(value as R);
  };
  callWithCallback(future, 'fromCallback', () => fn(...args, callback));
  return future;
}

// Run `call` (which hands `future`'s callback to a function): a synchronous throw fails the
// Future, or is logged when the callback already settled it.
function callWithCallback(future: Future<unknown>, what: string, call: () => unknown): void {
  try {
    call();
  } catch (error) {
    if (!future.done()) future.setException(error);
    else appLog.error(`Exception in ${what} function after its callback ran`, error);
  }
}
