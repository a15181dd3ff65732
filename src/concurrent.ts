/// <reference types="node" preserve="true" />

/**
 * `Future`: a placeholder for a result that is not there yet, and the helpers around it.
 *
 * A `Future<T>` is Tornado's (and asyncio's) Future and a native `Promise<T>` at once: it can
 * be inspected synchronously (`done()`, `result()`, `exception()`), completed from outside
 * (`setResult`, `setException`, `cancel`), given done-callbacks, and awaited, passed to
 * `Promise.all`, or chained with `then` like any Promise. Awaiting a Future takes V8's native
 * await path, so it costs about what awaiting a Promise costs (see `bench/`).
 *
 * Differences from a Promise worth knowing:
 * - A failed Future never causes an `unhandledRejection`. As in asyncio, a failure that nobody
 *   retrieved (by `await`, `then`, `result()` or `exception()`) is logged on `genLog` when the
 *   Future is garbage-collected.
 * - `then()` returns a plain `Promise`, not a Future.
 *
 * @example
 * ```ts
 * import { Future } from 'typhoon';
 * const f = new Future<number>();
 * setTimeout(() => f.setResult(42), 10);
 * console.log(f.done()); // false
 * console.log(await f); // 42
 * console.log(f.result()); // 42
 * ```
 * Tornado: `tornado.concurrent.Future` (= `asyncio.Future`).
 * @module typhoon/concurrent
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import './internal/context-frames.ts';
import { CancelledError, InvalidStateError } from './errors.ts';
import { appLog, genLog } from './log.ts';

/** A function called with the Future once it is done. */
export type DoneCallback<T> = (future: Future<T>) => void;

// Typed loosely so Future<T> stays covariant in T (a Future<number> is a Future<unknown>).
type AnyCallback = (future: Future<any>) => void;

/** Anything with a Promise-style `then`. */
export type Thenable<T> = PromiseLike<T>;

/** A Future, a Promise or another thenable: what every typhoon API that waits accepts. */
export type Awaitable<T> = Future<T> | PromiseLike<T>;

// `#flags` packs the state (two bits) and three booleans into one small integer, so a
// pending Future is a Promise plus three slots (measured: 288 B -> 184 B per pending Future,
// about what a plain Promise with its resolve function costs).
const PENDING = 0;
const FINISHED = 1;
const CANCELLED = 2;
const STATE = 3;
const HAS_ERROR = 4;
// Someone awaited, chained or inspected the outcome (possibly while pending).
const RETRIEVED = 8;
// Registered for the never-retrieved report.
const TRACKED = 16;

// The flags are read through these two (plain functions, which V8 inlines; a private getter
// on Future was a runtime call on every read, 15 % of a `multi` over 100 pending Futures).
function stateOf(flags: number): number {
  return flags & STATE;
}
function hasAny(flags: number, bits: number): boolean {
  return (flags & bits) !== 0;
}

// Capture the resolve function without allocating a closure per Future: the Promise
// constructor calls the executor synchronously, so a module variable hands it over. The
// reject function is not kept (it would cost another ~56 B per Future): a failure settles the
// native promise by resolving it with a thenable that rejects (see `Rejection`).
let capturedResolve: ((value: unknown) => void) | undefined;
function captureResolve(resolve: (value: unknown) => void): void {
  capturedResolve = resolve;
}

// Resolving a promise with this thenable rejects it with `error`, one microtask later than a
// direct reject would. Only failures pay that microtask; every pending Future saves a function.
class Rejection {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
  then(_onFulfilled: unknown, onRejected: (reason: unknown) => void): void {
    onRejected(this.error);
  }
}

const nativeThen = Promise.prototype.then;
const noop = (): void => {};

// A failure nobody looked at is reported when its Future is collected, as asyncio does in
// `Future.__del__`. Only failed Futures are registered, so successful ones cost nothing here.
const neverRetrieved = new FinalizationRegistry<unknown>((error) => {
  genLog.error('Future exception was never retrieved', error);
});

// Set by Future's static blocks: `reactWhenDone` and `QuietFuture` need the private flags.
let reactImpl: (future: Future<unknown>, fn: () => void) => void;
let markRetrieved: (future: Future<unknown>) => void;

/**
 * A placeholder for the result of an asynchronous operation: pending, then either finished
 * (with a result or an exception) or cancelled. See the module documentation.
 *
 * Tornado: `tornado.concurrent.Future`.
 */
export class Future<T = unknown> extends Promise<T> {
  // State, HAS_ERROR, RETRIEVED, TRACKED (see the constants above).
  #flags = PENDING;
  // While pending: the native promise's resolve function. Once done: the result, or the
  // exception (HAS_ERROR or CANCELLED). One slot serves both, since they are never needed at
  // the same time.
  #slot: unknown;
  // One callback is kept bare (the common case: a coroutine or multi waiting), more in a list.
  #callbacks: AnyCallback | AnyCallback[] | null = null;

  // The flags are read with `stateOf`/`hasAny` and written in place (`|= RETRIEVED`). No
  // private getter (a runtime call, Runtime_LoadPrivateGetter, on each read) and no private
  // instance method: those give every Future a brand slot that `await`'s lookup of
  // `constructor` walks past, so the helpers below are static.

  /**
   * Create a pending Future. The optional executor exists so Promise statics called on
   * `Future` (`Future.resolve`, …) work; most code calls `new Future()` and completes it with
   * {@link Future.setResult} or {@link Future.setException}.
   */
  constructor(executor?: (resolve: (value: T) => void, reject: (reason: unknown) => void) => void) {
    super(captureResolve as (resolve: (value: T) => void) => void);
    this.#slot = capturedResolve;
    capturedResolve = undefined;
    if (typeof executor === 'function') {
      try {
        executor(
          (value) => {
            if (stateOf(this.#flags) === PENDING) this.setResult(value);
          },
          (reason) => {
            if (stateOf(this.#flags) === PENDING) this.setException(reason);
          },
        );
      } catch (error) {
        if (stateOf(this.#flags) === PENDING) this.setException(error);
      }
    }
  }

  static {
    // Native `await`, `Promise.resolve`, `Promise.all` and `then` all read `constructor`. When
    // it is `%Promise%`, `await` takes V8's fast path (one microtask, no call to a JS `then`),
    // and reading it tells us the Future's outcome is being retrieved. The getter runs on every
    // `await` of a Future, so it does as little as it can: a brand check and, the first time
    // only, one flag write.
    Reflect.defineProperty(Future.prototype, 'constructor', {
      configurable: true,
      get(this: unknown) {
        if (typeof this === 'object' && this !== null && #flags in this) {
          if (!hasAny(this.#flags, RETRIEVED)) Future.#retrieve(this);
          else if (stateOf(this.#flags) !== PENDING) {
            // Awaited again once done and retrieved: nothing is left to track, so an own
            // property lets later awaits skip this getter (a Future awaited once, the common
            // case, never gets here and keeps its shape).
            Reflect.defineProperty(this, 'constructor', {
              value: Promise,
              writable: true,
              configurable: true,
            });
          }
        }
        return Promise;
      },
    });
  }

  static {
    markRetrieved = (future) => {
      future.#flags |= RETRIEVED;
    };
    reactImpl = (future, fn) => {
      const flags = future.#flags;
      void nativeThen.call(future, fn, fn);
      future.#flags = flags;
    };
  }

  /** `Future` instances are tagged `Future` for `Object.prototype.toString`. */
  override get [Symbol.toStringTag](): string {
    return 'Future';
  }

  /** True once the Future has a result, an exception, or was cancelled. */
  done(): boolean {
    return stateOf(this.#flags) !== PENDING;
  }

  /** True if the Future was cancelled. */
  cancelled(): boolean {
    return stateOf(this.#flags) === CANCELLED;
  }

  /**
   * The result. Throws the stored exception if the Future failed, `CancelledError` if it was
   * cancelled, and `InvalidStateError` if it is still pending.
   */
  result(): T {
    const state = stateOf(this.#flags);
    if (state === FINISHED) {
      if (!hasAny(this.#flags, HAS_ERROR)) return this.#slot as T;
      if (!hasAny(this.#flags, RETRIEVED)) Future.#retrieve(this);
      throw this.#slot;
    }
    if (state === CANCELLED) throw this.#slot;
    throw new InvalidStateError('Result is not ready');
  }

  /**
   * The exception the Future failed with, or `undefined` if it succeeded. Throws
   * `CancelledError` if cancelled and `InvalidStateError` if pending.
   */
  exception(): unknown {
    const state = stateOf(this.#flags);
    if (state === FINISHED) {
      if (!hasAny(this.#flags, HAS_ERROR)) return undefined;
      if (!hasAny(this.#flags, RETRIEVED)) Future.#retrieve(this);
      return this.#slot;
    }
    if (state === CANCELLED) throw this.#slot;
    throw new InvalidStateError('Exception is not set');
  }

  /**
   * Call `fn(future)` once the Future is done. It runs soon after completion, never
   * synchronously inside `setResult` — and also when added after completion. An exception in
   * `fn` is logged on `appLog`.
   */
  addDoneCallback(fn: DoneCallback<T>): void {
    if (typeof fn !== 'function') throw new TypeError('addDoneCallback expects a function');
    const callbacks = this.#callbacks;
    if (stateOf(this.#flags) !== PENDING) {
      scheduleDue(this, fn as AnyCallback);
    } else if (callbacks === null) {
      this.#callbacks = fn as AnyCallback;
    } else if (typeof callbacks === 'function') {
      this.#callbacks = [callbacks, fn as AnyCallback];
    } else {
      callbacks.push(fn as AnyCallback);
    }
  }

  /** Remove every registration of `fn`; returns how many were removed. */
  removeDoneCallback(fn: DoneCallback<T>): number {
    const callbacks = this.#callbacks;
    if (callbacks === null) return 0;
    if (typeof callbacks === 'function') {
      if (callbacks !== fn) return 0;
      this.#callbacks = null;
      return 1;
    }
    const kept = callbacks.filter((cb) => cb !== fn);
    this.#callbacks = kept;
    return callbacks.length - kept.length;
  }

  /** Finish the Future with `value`. Throws `InvalidStateError` if it is already done. */
  setResult(value: T): void {
    if (stateOf(this.#flags) !== PENDING) {
      throw new InvalidStateError(
        `setResult on a Future that is already ${describeState(this.#flags)}`,
      );
    }
    const resolve = this.#slot as (value: unknown) => void;
    this.#flags |= FINISHED;
    this.#slot = value;
    resolve(value);
    Future.#scheduleCallbacks(this);
  }

  /** Fail the Future with `error`. Throws `InvalidStateError` if it is already done. */
  setException(error: unknown): void {
    if (stateOf(this.#flags) !== PENDING) {
      throw new InvalidStateError(
        `setException on a Future that is already ${describeState(this.#flags)}`,
      );
    }
    const resolve = this.#slot as (value: unknown) => void;
    this.#flags |= FINISHED | HAS_ERROR;
    this.#slot = error;
    Future.#rejectQuietly(this, resolve, error);
    // A Future awaited (or chained) while pending has its failure delivered; only one nobody
    // is waiting for is watched for the never-retrieved report.
    if (!hasAny(this.#flags, RETRIEVED)) {
      this.#flags |= TRACKED;
      // Until its stack is formatted, an error keeps the functions on its stack alive, and so
      // whatever their closures see; when that includes this Future (a timer callback that
      // fails it), the registry's hold on the error would keep the Future from ever being
      // collected and reported. Reading `stack` formats it and lets those functions go.
      if (error instanceof Error) void error.stack;
      neverRetrieved.register(this, error, this);
    }
    Future.#scheduleCallbacks(this);
  }

  /**
   * Cancel a pending Future: it becomes done, `result()` and `await` throw `CancelledError`,
   * and its done-callbacks run. Returns false (and does nothing) if it was already done.
   */
  cancel(message?: string): boolean {
    if (stateOf(this.#flags) !== PENDING) return false;
    const resolve = this.#slot as (value: unknown) => void;
    const error = new CancelledError(message);
    this.#flags |= CANCELLED;
    this.#slot = error;
    Future.#rejectQuietly(this, resolve, error);
    Future.#scheduleCallbacks(this);
    return true;
  }

  static #rejectQuietly(
    future: Future<unknown>,
    resolve: (value: unknown) => void,
    error: unknown,
  ): void {
    resolve(new Rejection(error));
    // Mark the native promise handled: typhoon reports unretrieved failures itself, and an
    // `unhandledRejection` would otherwise take the process down. `then` reads `constructor`,
    // which would count as retrieving the failure, so the flags are put back afterwards.
    const flags = future.#flags;
    void nativeThen.call(future, undefined, noop);
    future.#flags = flags;
  }

  // Mark the outcome retrieved; a failure registered for the never-retrieved report is
  // unregistered.
  static #retrieve(future: Future<unknown>): void {
    if (hasAny(future.#flags, TRACKED)) neverRetrieved.unregister(future);
    future.#flags = (future.#flags | RETRIEVED) & ~TRACKED;
  }

  static #scheduleCallbacks(future: Future<unknown>): void {
    const callbacks = future.#callbacks;
    if (callbacks === null) return;
    future.#callbacks = null;
    scheduleDue(future, callbacks);
  }

  /**
   * A Future that follows `thenable`: finished with its value or failed with its reason.
   * A Future is returned as it is.
   */
  static fromPromise<T>(thenable: PromiseLike<T> | T): Future<T> {
    return toFuture(thenable);
  }
}

// Human-readable state for messages.
function describeState(flags: number): string {
  if (stateOf(flags) === CANCELLED) return 'cancelled';
  return hasAny(flags, HAS_ERROR) ? 'failed' : 'finished';
}

// Done-callbacks that are due, run by a single microtask. Completing many Futures at once (a
// fan-out of a thousand) then costs one microtask instead of a closure and a microtask per
// Future (measured in bench/multi.bench.ts: `multi` of 1000 pending Futures went from 1.75x
// to about 1.0-1.2x Promise.all). Callbacks that become due while draining (a callback completing another
// Future) run in the same pass, in order, still never inside the setResult that caused them.
const settled = Promise.resolve();
const dueFutures: Array<Future<unknown> | undefined> = [];
const dueCallbacks: Array<AnyCallback | AnyCallback[] | undefined> = [];
let drainScheduled = false;

function scheduleDue(future: Future<unknown>, callbacks: AnyCallback | AnyCallback[]): void {
  dueFutures.push(future);
  dueCallbacks.push(callbacks);
  if (!drainScheduled) {
    drainScheduled = true;
    // A reaction on a settled native promise is a bare V8 microtask, where Node's
    // queueMicrotask also wraps the callback for async hooks. drainDue never throws
    // (runCallback catches), so this promise never rejects.
    void nativeThen.call(settled, drainDue);
  }
}

function drainDue(): void {
  try {
    for (let i = 0; i < dueFutures.length; i++) {
      const future = dueFutures[i]!;
      const callbacks = dueCallbacks[i]!;
      dueFutures[i] = undefined;
      dueCallbacks[i] = undefined;
      if (typeof callbacks === 'function') runCallback(callbacks, future);
      else for (let j = 0; j < callbacks.length; j++) runCallback(callbacks[j]!, future);
    }
  } finally {
    dueFutures.length = 0;
    dueCallbacks.length = 0;
    drainScheduled = false;
  }
}

function runCallback(fn: AnyCallback, future: Future<unknown>): void {
  try {
    fn(future);
  } catch (error) {
    appLog.error(`Exception in callback ${fn.name || '<anonymous>'} for ${String(future)}`, error);
  }
}

/**
 * Call `fn()` once `future` is done, as a reaction of its native promise: the completion
 * itself queues it, the way it resumes an `await`, with no done-callback bookkeeping and no
 * drain to schedule. `fn` gets no usable argument (read the outcome from the Future), and it
 * cannot be removed. Unlike `await` or `then`, registering does not count as retrieving a
 * failure: whoever `fn` hands the outcome to retrieves it with `result()`, so a failure that
 * is abandoned (a cancelled coroutine stops waiting) is still reported if nobody looks at it.
 *
 * @example
 * ```ts
 * reactWhenDone(future, () => resume(future)); // how a generator coroutine waits
 * ```
 * Tornado: none (the coroutine runner's wait).
 * @internal
 */
export function reactWhenDone(future: Future<unknown>, fn: () => void): void {
  reactImpl(future, fn);
}

/**
 * True if `x` is a typhoon {@link Future}. Tornado: `tornado.concurrent.is_future`.
 */
export function isFuture(x: unknown): x is Future<unknown> {
  return x instanceof Future;
}

/** True if `x` has a callable `then`: a Promise, a Future or another thenable. */
export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (
    x !== null &&
    (typeof x === 'object' || typeof x === 'function') &&
    typeof (x as { then?: unknown }).then === 'function'
  );
}

/**
 * Turn a Future, Promise, thenable or plain value into a Future. A Future comes back as it
 * is; a plain value gives an already-finished Future.
 *
 * @example
 * ```ts
 * const f = toFuture(fetchSomething()); // Promise -> Future
 * ```
 * Tornado: `tornado.gen.convert_yielded` for awaitables.
 */
export function toFuture<T>(x: PromiseLike<T> | T): Future<T> {
  if (x instanceof Future) return x as Future<T>;
  const future = new Future<T>();
  if (isThenable(x)) {
    try {
      void x.then(
        (value) => futureSetResultUnlessCancelled(future, value as T),
        (error: unknown) => futureSetExceptionUnlessCancelled(future, error),
      );
    } catch (error) {
      future.setException(error);
    }
  } else {
    future.setResult(x as T);
  }
  return future;
}

/**
 * Copy the outcome of `a` onto `b` when `a` completes (result, exception or cancellation),
 * unless `b` is already done by then. `a` may be any thenable.
 *
 * Tornado: `tornado.concurrent.chain_future`.
 */
export function chainFuture<T>(a: Awaitable<T>, b: Future<T>): void {
  if (a instanceof Future) {
    a.addDoneCallback((done) => {
      if (b.done()) return;
      if (done.cancelled()) b.cancel();
      else {
        const error = done.exception();
        if (error !== undefined) b.setException(error);
        else b.setResult(done.result());
      }
    });
    return;
  }
  a.then(
    (value) => {
      if (!b.done()) b.setResult(value);
    },
    (error: unknown) => {
      if (!b.done()) b.setException(error);
    },
  );
}

/**
 * Set `future`'s result unless it was cancelled meanwhile (a cancelled Future's waiter has
 * gone; its late result is simply dropped). Tornado:
 * `tornado.concurrent.future_set_result_unless_cancelled`.
 */
export function futureSetResultUnlessCancelled<T>(future: Future<T>, value: T): void {
  if (!future.cancelled()) future.setResult(value);
}

/**
 * Set `future`'s exception unless it was cancelled; a failure arriving after cancellation is
 * logged on `appLog` so it is not lost. Tornado:
 * `tornado.concurrent.future_set_exception_unless_cancelled`.
 */
export function futureSetExceptionUnlessCancelled(future: Future<unknown>, error: unknown): void {
  if (!future.cancelled()) future.setException(error);
  else appLog.error('Exception after Future was cancelled', error);
}

/**
 * Call `fn(future)` when `future` is done; for a plain thenable, `fn` receives a Future that
 * mirrors it. Tornado: `tornado.concurrent.future_add_done_callback`.
 */
export function futureAddDoneCallback<T>(
  future: Awaitable<T>,
  fn: (future: Future<T>) => void,
): void {
  toFuture(future).addDoneCallback(fn);
}

/** A Future already finished with `value`. */
export function resolvedFuture<T>(value: T): Future<T> {
  const future = new Future<T>();
  future.setResult(value);
  return future;
}

/** A Future already failed with `error`. */
export function failedFuture<T = never>(error: unknown): Future<T> {
  const future = new Future<T>();
  future.setException(error);
  return future;
}

/**
 * A Future whose failures are always handed to someone: every exception set on it is marked
 * retrieved at once, so it is never reported as lost, and nothing needs to notice when it is
 * awaited. Its `constructor` is therefore a plain property (still `Promise`, so `await` keeps
 * V8's fast path) instead of the getter that marks other Futures retrieved: each `await` of
 * one skips a call into JavaScript. IOStream's reads and writes return these; they fail only
 * in ways the stream itself reports.
 *
 * @example
 * ```ts
 * const read = new QuietFuture<Buffer>(); // fails quietly: whoever awaits gets the error
 * ```
 * Tornado: none (an implementation detail).
 * @internal
 */
export class QuietFuture<T = unknown> extends Future<T> {
  static {
    Reflect.defineProperty(QuietFuture.prototype, 'constructor', {
      configurable: true,
      writable: true,
      value: Promise,
    });
  }

  /** Fail the Future and mark the failure retrieved. See {@link Future.setException}. */
  override setException(error: unknown): void {
    // Marked first, so the failure is never registered for the report (nor its stack formatted).
    if (!this.done()) markRetrieved(this);
    super.setException(error);
  }
}
