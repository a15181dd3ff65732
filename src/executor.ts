/**
 * Worker-thread executor. PLACEHOLDER: the full ThreadPoolExecutor lands with issue 3.
 * @module
 */
import type { Future } from './concurrent.ts';

/** Something that runs functions off the loop and returns Futures for their results. */
export interface Executor {
  /** Run `fn(...args)` elsewhere; the Future settles with its result. */
  submit<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>, ...args: A): Future<R>;
}

/** The shared executor used by `IOLoop.runInExecutor(null, …)`. */
export function defaultExecutor(): Executor {
  throw new Error('ThreadPoolExecutor is not implemented yet');
}
