/// <reference types="node" preserve="true" />

/**
 * `ThreadPoolExecutor`: run blocking or CPU-bound functions on worker threads, so the loop
 * keeps serving every other connection while they run.
 *
 * The guide's rule is that one slow function (a password hash, an image resize, a big
 * `JSON.parse`) stalls everything on the loop. Give it to an executor instead: `submit(fn,
 * ...args)` returns a {@link Future} for its result, to `await` (or `yield` from a generator
 * coroutine) like any other.
 *
 * What crosses the thread boundary, and how:
 * - **The function crosses as source text.** `submit(fn)` ships `fn.toString()`; each worker
 *   compiles a given source once and keeps it. So `fn` must be self-contained: it may use its
 *   parameters, globals and `await import('node:…')`, but not variables, imports or helpers
 *   from the scope it was written in (a closure cannot cross threads; using one fails with a
 *   `TaskSerializationError` that says so). Bound and native functions fail up front. For code
 *   that imports things, put it in a module: `new ThreadPoolExecutor({module})` and
 *   `call('exportName', ...args)`.
 * - **Arguments and results cross by structured clone** (plain data, arrays, Maps, Sets,
 *   Dates, typed arrays, errors; a class instance arrives as a plain object, a `Buffer` as a
 *   `Uint8Array`). What cannot cross (a function, a socket, a Promise) fails with a
 *   `TaskSerializationError` naming the argument and the reason, before the task is queued.
 * - **Big buffers can move instead of being copied:** wrap them in {@link transfer}. Inside a
 *   submitted function `transfer` is in scope too, to move a result back.
 *
 * Faults: a task that throws rejects its Future with an error of the same class name,
 * message, stack (the worker's) and `code`; a worker that crashes or calls `process.exit`
 * is replaced, its task fails with `WorkerCrashedError` (`exitCode`) and the queue carries on.
 * Cancelling a queued task's Future takes the task out of the queue; cancelling a running
 * one terminates its worker thread (JavaScript cannot be interrupted any other way; a
 * replacement starts at once) and the Future rejects with `CancelledError`, so a task stuck
 * in a loop never holds a worker, the tasks behind it or `shutdown()` for ever. Tasks start
 * in submission order.
 *
 * Deadlines: the `taskTimeout` option gives every task of the pool one (measured from the
 * moment it starts on a worker; past it the worker is terminated and the Future rejects with
 * `TimeoutError`). For a deadline on one task, wrap its Future in `withTimeout` and cancel it
 * when that fires — `withTimeout` alone only stops waiting, the task would go on running:
 *
 * ```ts
 * const task = pool.submit(parseHugeDocument, text);
 * try {
 *   return await withTimeout(task, 2_000);
 * } catch (error) {
 *   if (error instanceof TimeoutError) task.cancel(); // terminates the worker running it
 *   throw error;
 * }
 * ```
 *
 * Built on piscina (`stricterFIFO`), with typhoon's own queue in front of it so cancellation,
 * shutdown and ordering are exact. While tasks are short, each worker is handed a few at once
 * (it runs them one after another, never idling for the next); each carries a start slot in
 * memory shared with the workers, so one handed over but not started is still cancelled
 * exactly, and re-run elsewhere if its worker crashes before reaching it.
 *
 * @example
 * ```ts
 * import { ThreadPoolExecutor } from 'typhoon';
 * const pool = new ThreadPoolExecutor({ maxWorkers: 4 });
 * const hash = await pool.submit((password: string, salt: string) => {
 *   const { pbkdf2Sync } = process.getBuiltinModule('node:crypto');
 *   return pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('hex');
 * }, 'hunter2', 'pepper');
 * await pool.shutdown();
 * ```
 * Tornado: `concurrent.futures.ThreadPoolExecutor` with `IOLoop.run_in_executor` and
 * `tornado.concurrent.run_on_executor`.
 * @module typhoon/executor
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { performance } from 'node:perf_hooks';
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Future, failedFuture } from '../concurrent.ts';
import {
  ExecutorShutdownError,
  TaskSerializationError,
  TimeoutError,
  WorkerCrashedError,
} from '../errors.ts';
import { appLog } from '../log.ts';
import {
  SLOT_PENDING,
  SLOT_REVOKED,
  SLOT_STARTED,
  type ExecutorWorkerData,
  type TaskMessage,
} from './worker.ts';
import { checkCloneable, isTaskFailure } from './structured.ts';
import { crashError, moduleHref, taskError, taskSource } from './shipping.ts';
import {
  MAX_REDISPATCH,
  PIPELINE_DEPTH,
  SHORT_TASK_MS,
  TaskFuture,
  TaskQueue,
  describeTask,
} from './tasks.ts';

/**
 * Something that runs functions off the loop and returns Futures for their results:
 * {@link ThreadPoolExecutor}, or your own object with a `submit` method.
 *
 * Tornado: `concurrent.futures.Executor`.
 */
export interface Executor {
  /** Run `fn(...args)` elsewhere; the Future settles with its result. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Future<R>;
}

export type { TransferableValue } from './structured.ts';
export { transfer } from './shipping.ts';

/** Options of {@link ThreadPoolExecutor}. */
export interface ThreadPoolExecutorOptions {
  /** Number of worker threads (at most that many tasks run at once). Default: the number of
   * cores, `os.availableParallelism()`. */
  maxWorkers?: number;
  /** A module whose exports {@link ThreadPoolExecutor.call} runs: an absolute path, a `file:`
   * URL string or a `URL`. */
  module?: string | URL;
  /**
   * Longest a task may run, in ms, counted from the moment it starts on a worker (time spent
   * queued does not count). Past it the worker thread is terminated (a replacement starts) and
   * the task's Future rejects with `TimeoutError`. Default: none. While it is set, each worker
   * is handed one task at a time (no pipelining of short tasks), so a task starts as it is
   * handed over and its clock is exact. For a deadline on a single task, use `withTimeout` on
   * its Future and then `cancel()` it.
   */
  taskTimeout?: number;
}

/** Options of {@link ThreadPoolExecutor.shutdown}. */
export interface ShutdownOptions {
  /** True (default): run every queued task first. False: cancel the queued tasks (their
   * Futures reject with `CancelledError`); tasks already running finish unless cancelled
   * (which terminates their worker) or cut off by `taskTimeout`. */
  wait?: boolean;
}

// The worker entry sits next to this file's own compiled form: `.ts` when typhoon runs from
// its sources (Node strips the types, in workers too), `.js` from the `tsc` build in dist/.
const WORKER_FILE = fileURLToPath(
  new URL(`./worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

// Far beyond any sane task, without the 1 ms clamp Node applies to timeouts above 2^31-1.
const NO_CLOSE_TIMEOUT = 2 ** 31 - 1;

/**
 * A pool of worker threads that runs functions and returns Futures for their results. See
 * the module documentation for what can cross to a worker and how faults are reported.
 *
 * @example
 * ```ts
 * const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
 * const sum = await pool.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), [1, 2, 3]);
 * const images = new ThreadPoolExecutor({ module: new URL('./images.ts', import.meta.url) });
 * const thumb = await images.call('thumbnail', transfer(bytes), 128);
 * await Promise.all([pool.shutdown(), images.shutdown()]);
 * ```
 * Tornado: `concurrent.futures.ThreadPoolExecutor`.
 */
export class ThreadPoolExecutor implements Executor {
  /** Number of worker threads. */
  readonly maxWorkers: number;
  /** The `file:` URL of the module `call()` runs exports of, if one was given. */
  readonly module: string | undefined;
  #pool: Piscina | null = null;
  #queue = new TaskQueue();
  /** Start slots shared with the workers (see `SLOT_PENDING` in the worker). */
  #slots: Int32Array;
  /** The task holding each slot, or undefined. */
  #holders: Array<TaskFuture | undefined>;
  /** Free slot indexes. */
  #freeSlots: number[];
  /** Tasks piscina holds now (slots in use); at most #heldLimit. */
  #held = 0;
  /** maxWorkers × PIPELINE_DEPTH while tasks are short, else maxWorkers. */
  #heldLimit: number;
  /** Moving average of how long piscina held a task (posted → result), in ms. */
  #heldMs = 0;
  /** Per slot, the threadId of the worker that started its task (written by the worker). */
  #owners: Int32Array;
  /** Per slot, when its task started on the worker (epoch ms, written by the worker). */
  #starts: Float64Array;
  /** The `taskTimeout` option, or 0 for none. */
  #taskTimeout: number;
  #revoke = (task: TaskFuture): void => {
    if (task.queue !== null) task.queue.remove(task);
    else if (
      task.slot !== -1 &&
      Atomics.compareExchange(this.#slots, task.slot, SLOT_PENDING, SLOT_REVOKED) === SLOT_STARTED
    ) {
      this.#terminateOwner(task);
    }
  };
  // Armed when the task is handed over; the task's clock starts only when the worker starts
  // it (a worker may still be booting), so until then the timer is armed again.
  #onTaskTimeout = (task: TaskFuture): void => {
    task.timer = undefined;
    if (task.done() || task.slot === -1) return;
    const state = Atomics.load(this.#slots, task.slot);
    const ranMs =
      state === SLOT_STARTED
        ? performance.timeOrigin + performance.now() - this.#starts[task.slot]!
        : 0;
    if (ranMs < this.#taskTimeout) {
      task.timer = setTimeout(this.#onTaskTimeout, this.#taskTimeout - ranMs, task);
      return;
    }
    task.setException(
      new TimeoutError(
        `${describeTask(task)} ran longer than taskTimeout (${this.#taskTimeout} ms); ` +
          'its worker thread was terminated',
      ),
    );
    this.#revoke(task);
  };
  #shutdown = false;
  #closed: Future<void> | null = null;
  #destroying = false;

  constructor(options: ThreadPoolExecutorOptions = {}) {
    const maxWorkers = options.maxWorkers ?? availableParallelism();
    if (!Number.isInteger(maxWorkers) || maxWorkers < 1) {
      throw new RangeError(`maxWorkers must be a positive integer, got ${String(maxWorkers)}`);
    }
    this.maxWorkers = maxWorkers;
    this.module = options.module === undefined ? undefined : moduleHref(options.module);
    const taskTimeout = options.taskTimeout ?? 0;
    if (typeof taskTimeout !== 'number' || !(taskTimeout >= 0) || taskTimeout > NO_CLOSE_TIMEOUT) {
      throw new RangeError(
        `taskTimeout must be a number of milliseconds from 0 (none) to ${NO_CLOSE_TIMEOUT}, ` +
          `got ${String(taskTimeout)}`,
      );
    }
    this.#taskTimeout = taskTimeout;
    const slotCount = maxWorkers * PIPELINE_DEPTH;
    this.#heldLimit = taskTimeout > 0 ? maxWorkers : slotCount;
    this.#slots = new Int32Array(new SharedArrayBuffer(slotCount * Int32Array.BYTES_PER_ELEMENT));
    this.#owners = new Int32Array(new SharedArrayBuffer(slotCount * Int32Array.BYTES_PER_ELEMENT));
    this.#starts = new Float64Array(
      new SharedArrayBuffer(slotCount * Float64Array.BYTES_PER_ELEMENT),
    );
    this.#holders = new Array<TaskFuture | undefined>(slotCount).fill(undefined);
    this.#freeSlots = Array.from({ length: slotCount }, (_, i) => slotCount - 1 - i);
  }

  /**
   * Run `fn(...args)` on a worker thread. `fn` must be self-contained (it is sent as source
   * text); arguments are structured-cloned, or moved when wrapped in {@link transfer}. The
   * Future fails with `TaskSerializationError` when `fn` or an argument cannot cross,
   * `ExecutorShutdownError` after {@link ThreadPoolExecutor.shutdown}, `WorkerCrashedError`
   * when the worker dies, or the task's own error.
   *
   * Tornado: `Executor.submit`.
   */
  submit<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Future<R> {
    let source: string;
    try {
      source = taskSource(fn);
    } catch (error) {
      return failedFuture(error);
    }
    return this.#enqueue({ f: source, a: args, s: -1 }, args, fn.name, false);
  }

  /**
   * Run the export `exportName` of the executor's module with `args` on a worker thread. The
   * module is imported once per worker, so it may import whatever it needs.
   *
   * @example
   * ```ts
   * // tasks.ts: export function resize(bytes: Uint8Array, width: number) { … }
   * const pool = new ThreadPoolExecutor({ module: new URL('./tasks.ts', import.meta.url) });
   * const small = await pool.call('resize', transfer(bytes), 320);
   * ```
   */
  call<R = unknown>(exportName: string, ...args: unknown[]): Future<R> {
    if (this.module === undefined) {
      return failedFuture(
        new TypeError(
          'call() needs an executor created with {module}; use submit() for a function',
        ),
      );
    }
    if (typeof exportName !== 'string') {
      return failedFuture(new TypeError('call() needs the name of an export'));
    }
    return this.#enqueue({ m: this.module, n: exportName, a: args, s: -1 }, args, exportName, true);
  }

  #enqueue<R>(message: TaskMessage, args: unknown[], name: string, isExport: boolean): Future<R> {
    if (this.#shutdown) {
      const what = isExport
        ? `export ${name}`
        : name
          ? `task function ${name}`
          : 'the task function';
      return failedFuture(
        new ExecutorShutdownError(`cannot run ${what}: the executor has been shut down`),
      );
    }
    let transferList: Array<ArrayBuffer | MessagePort> | undefined;
    if (args.length !== 0) {
      const check = checkCloneable(
        args,
        (i) =>
          `argument ${i + 1} of ${isExport ? `export ${name}` : name ? `task function ${name}` : 'the task function'}`,
      );
      if (check.problem !== undefined) {
        return failedFuture(new TaskSerializationError(check.problem));
      }
      transferList = check.transferList;
    }
    const task = new TaskFuture(message, transferList, name, isExport, this.#revoke);
    this.#queue.push(task);
    this.#dispatch();
    return task as Future<unknown> as Future<R>;
  }

  #piscina(): Piscina {
    if (this.#pool === null) {
      // All workers start at once and stay: a crashed one is replaced at once (piscina keeps
      // minThreads alive), and each keeps its cache of compiled task sources.
      this.#pool = new Piscina({
        filename: WORKER_FILE,
        minThreads: this.maxWorkers,
        maxThreads: this.maxWorkers,
        concurrentTasksPerWorker: PIPELINE_DEPTH,
        stricterFIFO: true,
        workerData: {
          slots: this.#slots.buffer as SharedArrayBuffer,
          owners: this.#owners.buffer as SharedArrayBuffer,
          starts: this.#starts.buffer as SharedArrayBuffer,
        } satisfies ExecutorWorkerData,
        recordTiming: false,
        closeTimeout: NO_CLOSE_TIMEOUT,
      });
      this.#pool.on('error', (error: unknown) => {
        appLog.error('A ThreadPoolExecutor worker thread failed between tasks', error);
      });
    }
    return this.#pool;
  }

  // Hand queued tasks to piscina, in order, while it holds fewer than maxWorkers ×
  // PIPELINE_DEPTH. A task that moves buffers goes only to an idle worker: once posted, its
  // buffers belong to that worker, so it could not be sent again if the worker died first.
  #dispatch(): void {
    const queue = this.#queue;
    while (this.#held < this.#heldLimit) {
      const task = queue.peek();
      if (task === undefined) break;
      if (task.transferList !== undefined && this.#held >= this.maxWorkers) break;
      void queue.shift();
      this.#start(task);
    }
  }

  #start(task: TaskFuture): void {
    const slot = this.#freeSlots.pop()!;
    Atomics.store(this.#slots, slot, SLOT_PENDING);
    this.#holders[slot] = task;
    task.slot = slot;
    task.direct = this.#held < this.maxWorkers;
    task.postedAt = performance.now();
    this.#held++;
    task.message.s = slot;
    if (this.#taskTimeout > 0)
      task.timer = setTimeout(this.#onTaskTimeout, this.#taskTimeout, task);
    const pool = this.#piscina();
    const options =
      task.transferList === undefined ? undefined : { transferList: task.transferList };
    pool.run(task.message, options).then(
      (value: unknown) => this.#settle(task, value, undefined, false),
      (error: unknown) => this.#settle(task, undefined, error, true),
    );
  }

  #settle(task: TaskFuture, value: unknown, error: unknown, failed: boolean): void {
    const slot = task.slot;
    const state = Atomics.load(this.#slots, slot);
    if (task.timer !== undefined) {
      clearTimeout(task.timer);
      task.timer = undefined;
    }
    this.#holders[slot] = undefined;
    this.#freeSlots.push(slot);
    task.slot = -1;
    this.#held--;
    if (state === SLOT_STARTED) {
      this.#heldMs += (performance.now() - task.postedAt - this.#heldMs) / 16;
      this.#heldLimit =
        this.#heldMs < SHORT_TASK_MS && this.#taskTimeout === 0
          ? this.#slots.length
          : this.maxWorkers;
      if (!task.done()) {
        if (!failed) task.setResult(value);
        else if (isTaskFailure(error)) task.setException(taskError(error, describeTask(task)));
        else task.setException(crashError(error, describeTask(task)));
      }
    } else if (state === SLOT_PENDING && !task.done()) {
      if (error instanceof DOMException) {
        // postMessage refused it (e.g. a buffer given to transfer() twice, already detached).
        task.setException(
          new TaskSerializationError(
            `${describeTask(task)} could not be posted to a worker thread: ${error.message}`,
            { cause: error },
          ),
        );
      } else if (task.transferList === undefined && ++task.redispatched <= MAX_REDISPATCH) {
        // Its worker died before starting it (it was posted behind the task that crashed).
        this.#queue.unshift(task);
      } else {
        task.setException(
          new WorkerCrashedError(
            `the worker thread died before starting ${describeTask(task)}` +
              (task.transferList === undefined
                ? ` (${MAX_REDISPATCH} times)`
                : ', and took the buffers moved to it with transfer()'),
            { cause: error },
          ),
        );
      }
    }
    // SLOT_REVOKED: cancelled before it started; its worker skipped it.
    this.#dispatch();
    if (this.#shutdown) this.#maybeClose();
  }

  // Cancelling a running task: JavaScript on another thread can only be stopped by ending
  // the thread. piscina sees the exit, fails whatever else it had posted to that worker (those
  // tasks had not started, so #settle hands them out again) and starts a replacement.
  #terminateOwner(task: TaskFuture): void {
    const threadId = Atomics.load(this.#owners, task.slot);
    const worker = this.#pool?.threads.find((w) => w.threadId === threadId);
    if (worker !== undefined) void worker.terminate();
  }

  /**
   * Stop accepting work and let the worker threads end. With `wait: true` (the default) the
   * queued tasks still run; with `wait: false` they are cancelled (their Futures reject with
   * `CancelledError`). Running tasks finish, unless cancelled or cut off by `taskTimeout`
   * (either terminates their worker, so a stuck task never keeps the returned Future
   * pending once it is cancelled). The returned Future resolves once every worker thread has
   * exited; `submit()` afterwards fails with `ExecutorShutdownError`.
   * Calling it again returns the same Future (a later `wait: false` still cancels what is
   * queued).
   *
   * Tornado: `Executor.shutdown(wait, cancel_futures)`.
   */
  shutdown(options: ShutdownOptions = {}): Future<void> {
    this.#shutdown = true;
    this.#closed ??= new Future<void>();
    if (options.wait === false) {
      const reason = 'the executor was shut down';
      for (const task of this.#queue.drain()) task.cancelFuture(reason);
      // Tasks posted behind a running one and not started yet are queued work too.
      for (const task of this.#holders) {
        if (
          task !== undefined &&
          !task.direct &&
          Atomics.compareExchange(this.#slots, task.slot, SLOT_PENDING, SLOT_REVOKED) ===
            SLOT_PENDING
        ) {
          task.cancelFuture(reason);
        }
      }
    }
    this.#maybeClose();
    return this.#closed;
  }

  /** True once {@link ThreadPoolExecutor.shutdown} was called. */
  isShutdown(): boolean {
    return this.#shutdown;
  }

  /** Number of tasks waiting for a free worker (including those already posted to a busy
   * worker, behind its running task, until they start). */
  get queueSize(): number {
    let waiting = this.#queue.size;
    for (const task of this.#holders) {
      if (
        task !== undefined &&
        !task.direct &&
        Atomics.load(this.#slots, task.slot) === SLOT_PENDING
      ) {
        waiting++;
      }
    }
    return waiting;
  }

  /** Number of tasks running on a worker now (including one just handed to an idle worker). */
  get runningCount(): number {
    let running = 0;
    for (const task of this.#holders) {
      if (task === undefined) continue;
      const state = Atomics.load(this.#slots, task.slot);
      if (state === SLOT_STARTED || (task.direct && state === SLOT_PENDING)) running++;
    }
    return running;
  }

  #maybeClose(): void {
    if (this.#destroying || this.#held > 0 || this.#queue.size > 0) return;
    this.#destroying = true;
    const closed = this.#closed!;
    const pool = this.#pool;
    if (pool === null) {
      closed.setResult();
      return;
    }
    pool.destroy().then(
      () => closed.setResult(),
      (error: unknown) => closed.setException(error),
    );
  }
}

/** Options of {@link runOnExecutor}. */
export interface RunOnExecutorOptions {
  /** The executor: an {@link Executor}, or the name of the property of `this` that holds one
   * (default `'executor'`, as Tornado's decorator reads `self.executor`). */
  executor?: string | Executor;
}

function isExecutor(x: unknown): x is Executor {
  return typeof x === 'object' && x !== null && typeof (x as Executor).submit === 'function';
}

/**
 * Turn a self-contained function into a method that runs it on an executor and returns a
 * Future: the decorator-free form of Tornado's `@run_on_executor`, for class fields (or
 * prototype assignments). The executor is `this.executor` by default, or the property named by
 * `options.executor`, or an executor given directly. `this` itself does not cross to the
 * worker: the function receives only the call's arguments. Its source is checked here, so a
 * bound or native function fails when the class is defined.
 *
 * @example
 * ```ts
 * class PasswordHasher {
 *   executor = new ThreadPoolExecutor({ maxWorkers: 2 });
 *   hash = runOnExecutor((password: string, salt: string) =>
 *     process.getBuiltinModule('node:crypto')
 *       .pbkdf2Sync(password, salt, 600_000, 32, 'sha256').toString('hex'));
 * }
 * const digest = await new PasswordHasher().hash('hunter2', 'pepper');
 * ```
 * Tornado: `tornado.concurrent.run_on_executor`.
 */
export function runOnExecutor<A extends unknown[], R>(
  fn: (...args: A) => R | Promise<R>,
  options: RunOnExecutorOptions = {},
): (this: unknown, ...args: A) => Future<R> {
  taskSource(fn);
  const which = options.executor ?? 'executor';
  return function runOnExecutorMethod(this: unknown, ...args: A): Future<R> {
    const executor =
      typeof which === 'string'
        ? (this as Record<string, unknown> | null | undefined)?.[which]
        : which;
    if (!isExecutor(executor)) {
      return failedFuture(
        new TypeError(
          `runOnExecutor: ${
            typeof which === 'string' ? `this.${which}` : 'the executor option'
          } is not an executor (an object with submit())`,
        ),
      );
    }
    return executor.submit(fn, ...args);
  };
}

let shared: ThreadPoolExecutor | null = null;

/**
 * The shared executor `IOLoop.runInExecutor(null, …)` uses: a {@link ThreadPoolExecutor}
 * with one worker per core (`os.availableParallelism()`), created on first use. Its idle
 * workers do not keep the process alive. If it was shut down, the next call makes a new one.
 *
 * @example
 * ```ts
 * const n = await defaultExecutor().submit((x: number) => x * 2, 21);
 * ```
 * Tornado: the default executor of `IOLoop.run_in_executor(None, …)`.
 */
export function defaultExecutor(): ThreadPoolExecutor {
  if (shared === null || shared.isShutdown()) shared = new ThreadPoolExecutor();
  return shared;
}
