/// <reference types="node" preserve="true" />

/**
 * `IOLoop`: Tornado's event-loop API as a thin facade over Node's own loop.
 *
 * libuv already is the epoll/kqueue selector Tornado's IOLoop wraps, so typhoon does not run a
 * loop of its own: `IOLoop.current()` is one object per thread that schedules callbacks and
 * timers on Node's loop, ties Futures to callbacks, runs blocking work on an executor and
 * watches the loop for stalls. Callbacks, timers and spawned coroutines that throw are logged
 * on `appLog` with their stack; the loop carries on.
 *
 * Times are milliseconds: `callLater(500, fn)` runs `fn` half a second from now, and `time()`
 * is a monotonic clock in milliseconds (`performance.now()`).
 *
 * @example
 * ```ts
 * import { IOLoop, PeriodicCallback } from 'typhoon';
 * const loop = IOLoop.current();
 * loop.callLater(1000, () => console.log('a second later'));
 * const tick = new PeriodicCallback(() => console.log('tick'), 250);
 * tick.start();
 * ```
 * Tornado: `tornado.ioloop.IOLoop`, `tornado.ioloop.PeriodicCallback`.
 * @module typhoon/ioloop
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import './internal/node-version.ts';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Future, isThenable, toFuture, type Awaitable } from './concurrent.ts';
import { TimeoutError } from './errors.ts';
import { appLog } from './log.ts';
import { defaultExecutor, type Executor } from './executor/index.ts';
import {
  startBlockingWatchdog,
  type BlockingWatchdog,
  type StallReport,
} from './internal/watchdog.ts';

/** A scheduled timer, returned by `callLater`, `callAt` and `addTimeout`. */
export interface TimeoutHandle {
  /** The loop time (ms, see {@link IOLoop.time}) at which the callback is due. */
  readonly deadline: number;
  /** @internal */
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Options of {@link IOLoop.setBlockingLogThreshold}. */
export interface BlockingLogOptions {
  /** Called for every stall, after it has been logged. */
  onStall?: (report: StallReport) => void;
}

export type { StallReport } from './internal/watchdog.ts';

/** Event-loop delay percentiles in milliseconds, from {@link IOLoop.loopLag}. */
export interface LoopLag {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

type Callback = (...args: never[]) => unknown;

/** Sampling period of {@link IOLoop.loopLag}'s event-loop delay histogram. */
const LAG_RESOLUTION_MS = 10;

let current: IOLoop | null = null;

function describeCallback(fn: unknown): string {
  const name = (fn as { name?: unknown }).name;
  return typeof name === 'string' && name ? name : '<anonymous>';
}

/**
 * The event loop of this thread. Get it with {@link IOLoop.current}; there is one per thread
 * (main thread or worker), as Tornado has one per thread.
 *
 * Tornado: `tornado.ioloop.IOLoop`.
 */
export class IOLoop {
  #callbacks: Array<() => void> = [];
  #immediate: ReturnType<typeof setImmediate> | null = null;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  #stopped: Future<void> | null = null;
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;
  #watchdog: BlockingWatchdog | null = null;
  #lagHistogram: ReturnType<typeof monitorEventLoopDelay> | null = null;

  /**
   * The loop of the calling thread, created on first use.
   * Tornado: `IOLoop.current()`.
   */
  static current(): IOLoop {
    if (current === null) current = new IOLoop();
    return current;
  }

  /** Make `loop` the current loop (tests use this to start from a fresh loop). */
  static makeCurrent(loop: IOLoop | null): void {
    current = loop;
  }

  /**
   * Monotonic time in milliseconds, the clock `callAt` and `addTimeout` deadlines use.
   * Tornado: `IOLoop.time()` (seconds there).
   */
  time(): number {
    return performance.now();
  }

  /**
   * Run `fn(...args)` on the next iteration of the loop, after pending I/O. Safe to call from
   * anywhere on this thread. An exception in `fn` is logged, not thrown.
   * Tornado: `IOLoop.add_callback`.
   */
  addCallback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    this.#callbacks.push(() => this.#run(fn, args));
    if (this.#immediate === null) this.#immediate = setImmediate(this.#drain);
  }

  #drain = (): void => {
    this.#immediate = null;
    // Callbacks added while draining wait for the next iteration, so I/O is not starved.
    const batch = this.#callbacks;
    this.#callbacks = [];
    for (let i = 0; i < batch.length; i++) batch[i]!();
  };

  /**
   * Like {@link IOLoop.addCallback}, for fire-and-forget work: if `fn` returns a Promise or
   * Future that fails, the failure is logged too, never propagated.
   * Tornado: `IOLoop.spawn_callback`.
   */
  spawnCallback<A extends unknown[]>(fn: (...args: A) => unknown, ...args: A): void {
    this.addCallback(fn, ...args);
  }

  #run(fn: Callback, args: unknown[]): void {
    try {
      const result = (fn as (...a: unknown[]) => unknown)(...args);
      if (isThenable(result)) {
        toFuture(result).addDoneCallback((f) => {
          if (!f.cancelled()) {
            const error = f.exception();
            if (error !== undefined) {
              appLog.error(`Exception in callback ${describeCallback(fn)}`, error);
            }
          }
        });
      }
    } catch (error) {
      appLog.error(`Exception in callback ${describeCallback(fn)}`, error);
    }
  }

  /**
   * Run `fn(...args)` after `delayMs` milliseconds. Returns a handle for
   * {@link IOLoop.removeTimeout}. Tornado: `IOLoop.call_later` (seconds there).
   */
  callLater<A extends unknown[]>(
    delayMs: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): TimeoutHandle {
    if (typeof delayMs !== 'number' || Number.isNaN(delayMs)) {
      throw new TypeError(
        `callLater delay must be a number of milliseconds, got ${String(delayMs)}`,
      );
    }
    const delay = Math.max(0, delayMs);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#run(fn, args);
    }, delay);
    this.#timers.add(timer);
    return { deadline: this.time() + delay, timer };
  }

  /**
   * Run `fn(...args)` at loop time `when` (see {@link IOLoop.time}).
   * Tornado: `IOLoop.call_at`.
   */
  callAt<A extends unknown[]>(
    when: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): TimeoutHandle {
    return this.callLater(when - this.time(), fn, ...args);
  }

  /**
   * Run `fn` at `deadline`: a loop time (number, as {@link IOLoop.time} gives) or
   * `{ delay: ms }` relative to now. Tornado: `IOLoop.add_timeout`.
   */
  addTimeout(deadline: number | { delay: number }, fn: () => unknown): TimeoutHandle {
    return typeof deadline === 'number'
      ? this.callAt(deadline, fn)
      : this.callLater(deadline.delay, fn);
  }

  /** Cancel a timer; harmless if it already ran. Tornado: `IOLoop.remove_timeout`. */
  removeTimeout(handle: TimeoutHandle | null | undefined): void {
    if (!handle) return;
    clearTimeout(handle.timer);
    this.#timers.delete(handle.timer);
  }

  /**
   * Call `fn(future)` on the loop when `future` (any awaitable) is done.
   * Tornado: `IOLoop.add_future`.
   */
  addFuture<T>(future: Awaitable<T>, fn: (future: Future<T>) => unknown): void {
    toFuture(future).addDoneCallback((f) => this.addCallback(fn, f));
  }

  /**
   * Run `fn(...args)` on a worker thread and return a Future for its result. `executor` null
   * uses the shared default executor, sized to the machine's cores. `fn` must be
   * self-contained (see `ThreadPoolExecutor.submit`).
   * Tornado: `IOLoop.run_in_executor`.
   */
  runInExecutor<A extends unknown[], R>(
    executor: Executor | null,
    fn: (...args: A) => R | Promise<R>,
    ...args: A
  ): Future<R> {
    return (executor ?? defaultExecutor()).submit(fn, ...args);
  }

  /**
   * Run `fn` (which may return a Promise/Future) and resolve with its result; with
   * `timeout`, reject with `TimeoutError` if it takes longer. Tornado: `IOLoop.run_sync`.
   */
  async runSync<T>(fn: () => T | PromiseLike<T>, options: { timeout?: number } = {}): Promise<T> {
    const result = toFuture(fn());
    if (options.timeout === undefined) return await result;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError(`Operation timed out after ${options.timeout} ms`)),
        options.timeout,
      );
    });
    try {
      return await Promise.race([result, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Keep the process alive until {@link IOLoop.stop} is called. Returns a Promise that
   * resolves when it is (Node never blocks, so this is how "start" waits).
   * Tornado: `IOLoop.start`.
   */
  start(): Promise<void> {
    if (this.#stopped === null) {
      this.#stopped = new Future<void>();
      this.#keepAlive = setInterval(() => {}, 2 ** 30);
    }
    return this.#stopped;
  }

  /** Let a started loop end: the Promise from {@link IOLoop.start} resolves. */
  stop(): void {
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
    const stopped = this.#stopped;
    this.#stopped = null;
    stopped?.setResult();
  }

  /**
   * Stop the loop, cancel its pending timers and callbacks and the watchdog. The next
   * `IOLoop.current()` is a fresh loop. Tornado: `IOLoop.close`.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    this.#callbacks = [];
    this.setBlockingLogThreshold(null);
    this.#lagHistogram?.disable();
    this.#lagHistogram = null;
    if (current === this) current = null;
  }

  /**
   * Report every stall of this loop longer than `ms`: a warning on `appLog` with its duration
   * and, where it can be taken, the stack of the JavaScript that was running, then
   * `options.onStall(report)`. `null` or `0` turns the watchdog off.
   *
   * The stack is sampled from a watchdog thread that pauses the loop's thread through the
   * inspector. When the cores are saturated that thread may get to run only after the stall
   * has ended, and the stack is then of whatever ran next; the duration is always right.
   *
   * @example
   * ```ts
   * IOLoop.current().setBlockingLogThreshold(100, { onStall: (r) => metrics.stall(r.durationMs) });
   * ```
   * Tornado: `IOLoop.set_blocking_log_threshold` (seconds there).
   */
  setBlockingLogThreshold(ms: number | null, options: BlockingLogOptions = {}): void {
    this.#watchdog?.stop();
    this.#watchdog = null;
    if (ms === null || ms === 0) return;
    if (typeof ms !== 'number' || !(ms > 0)) {
      throw new RangeError(`blocking log threshold must be a positive number of ms, got ${ms}`);
    }
    this.#watchdog = startBlockingWatchdog(ms, (report) => {
      let message = `Loop blocked for ${report.durationMs.toFixed(1)} ms`;
      if (report.stack) message += `\n${report.stack}`;
      else if (report.reason) message += ` (no stack: ${report.reason})`;
      appLog.warning(message);
      if (options.onStall) {
        try {
          options.onStall(report);
        } catch (error) {
          appLog.error('Exception in onStall callback', error);
        }
      }
    });
  }

  /**
   * Event-loop delay percentiles (ms) since the first call, from Node's
   * `monitorEventLoopDelay`: how late the loop was, beyond the 10 ms sampling timer itself, so
   * an idle loop reads close to 0 and a loop blocked for 150 ms shows a `max` near 150. The
   * first call starts the measurement and returns zeros. Pass `{reset: true}` to start a new
   * window after reading.
   *
   * @example
   * ```ts
   * const loop = IOLoop.current();
   * loop.loopLag(); // start measuring
   * setInterval(() => console.log(loop.loopLag({ reset: true }).p99), 10_000);
   * ```
   * Tornado: none (asyncio's debug mode only logs slow callbacks).
   */
  loopLag(options: { reset?: boolean } = {}): LoopLag {
    if (this.#lagHistogram === null) {
      this.#lagHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
      this.#lagHistogram.enable();
    }
    const h = this.#lagHistogram;
    // Each sample is the time between two ticks of Node's sampling timer, so it includes the
    // timer's own period: subtract it to get the delay.
    const ms = (ns: number) =>
      h.count > 0 && Number.isFinite(ns) ? Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS) : 0;
    const lag = {
      p50: ms(h.percentile(50)),
      p90: ms(h.percentile(90)),
      p99: ms(h.percentile(99)),
      max: ms(h.max),
      mean: ms(h.mean),
    };
    if (options.reset) h.reset();
    return lag;
  }
}

/**
 * Call `fn` every `periodMs` milliseconds. Runs never overlap: if `fn` returns a Promise or
 * Future, the next run waits for it; ticks missed while a run (or the loop) was busy are
 * skipped, not queued. `jitter` (0–1) spreads each period by up to ±jitter/2 of it.
 *
 * @example
 * ```ts
 * const pc = new PeriodicCallback(async () => flushStats(), 1000);
 * pc.start();
 * // later
 * pc.stop();
 * ```
 * Tornado: `tornado.ioloop.PeriodicCallback` (`callback_time` in ms there too).
 */
export class PeriodicCallback {
  /** Called every `periodMs` milliseconds. */
  readonly callback: () => unknown;
  /** The period, in milliseconds. */
  readonly periodMs: number;
  /** Spreads each period by up to ±jitter/2 of it, at random (0–1; 0: none). */
  readonly jitter: number;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #nextTime = 0;

  constructor(callback: () => unknown, periodMs: number, jitter = 0) {
    if (typeof callback !== 'function') throw new TypeError('PeriodicCallback needs a function');
    if (typeof periodMs !== 'number' || !(periodMs > 0) || !Number.isFinite(periodMs)) {
      throw new RangeError(
        `PeriodicCallback period must be a positive number of ms, got ${periodMs}`,
      );
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new RangeError(`PeriodicCallback jitter must be between 0 and 1, got ${jitter}`);
    }
    this.callback = callback;
    this.periodMs = periodMs;
    this.jitter = jitter;
  }

  /** Start calling; the first call is one period from now. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#nextTime = performance.now();
    this.#schedule();
  }

  /** Stop calling. A run in progress finishes; no further run starts. */
  stop(): void {
    this.#running = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** True between `start()` and `stop()`. */
  isRunning(): boolean {
    return this.#running;
  }

  #schedule(): void {
    if (!this.#running) return;
    const now = performance.now();
    let period = this.periodMs;
    if (this.jitter) period *= 1 + this.jitter * (Math.random() - 0.5);
    // Move past the tick just run, even when the timer fired a little before its deadline
    // (Node's timer clock is coarser than performance.now(), so that happens and would
    // otherwise run the same tick twice), then skip any ticks that were missed.
    this.#nextTime += period;
    if (this.#nextTime <= now) {
      this.#nextTime += Math.floor((now - this.#nextTime) / period + 1) * period;
    }
    this.#timer = setTimeout(this.#tick, Math.max(0, this.#nextTime - now));
  }

  #tick = (): void => {
    this.#timer = null;
    if (!this.#running) return;
    let result: unknown;
    try {
      result = this.callback();
    } catch (error) {
      appLog.error('Exception in PeriodicCallback', error);
    }
    if (isThenable(result)) {
      toFuture(result).addDoneCallback((f) => {
        if (!f.cancelled() && f.exception() !== undefined) {
          appLog.error('Exception in PeriodicCallback', f.exception());
        }
        this.#schedule();
      });
    } else {
      this.#schedule();
    }
  };
}
