/**
 * The worker-thread half of `ThreadPoolExecutor`: piscina loads this file in every worker and
 * calls its default export once per task.
 *
 * A task is either a function shipped by source (`{f, a}`), compiled once per worker and kept
 * in a cache keyed by its source text, or an export of a module (`{m, n, a}`), imported once
 * per worker. Whatever the task throws comes back as a plain {@link TaskFailure} record (so
 * the error's class name, message, stack and `code` survive), and a result that could not be
 * posted is caught here, before `postMessage` would throw inside piscina and kill the worker.
 *
 * Imports only structured.ts and piscina (a worker loads no more of typhoon than it needs),
 * whose `move()` is how a result is handed over with a transfer list.
 * @module
 */

import { performance } from 'node:perf_hooks';
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol, workerData } from 'piscina';
import {
  checkCloneable,
  compileTaskSource,
  describeFailure,
  type TaskFailure,
} from './structured.ts';

/** A function shipped by source. */
export interface SourceTask {
  /** The function's source text. */
  f: string;
  /** Its arguments. */
  a: unknown[];
  /** Its start slot (see {@link SLOT_PENDING}). */
  s: number;
}

/** An export of a module. */
export interface ModuleTask {
  /** The module's `file:` URL. */
  m: string;
  /** The export's name. */
  n: string;
  /** Its arguments. */
  a: unknown[];
  /** Its start slot (see {@link SLOT_PENDING}). */
  s: number;
}

/** What the executor gives piscina as `workerData`. */
export interface ExecutorWorkerData {
  /** One Int32 per task slot, shared by the main thread and every worker. */
  slots: SharedArrayBuffer;
  /** One Int32 per task slot: the `threadId` of the worker that started its task, so the
   * main thread can terminate that worker when a running task is cancelled or times out. */
  owners: SharedArrayBuffer;
  /** One Float64 per task slot: when its task started (epoch ms), for `taskTimeout`. */
  starts: SharedArrayBuffer;
}

/**
 * Start slots. Every task handed to piscina holds one Int32 slot in a SharedArrayBuffer for
 * as long as piscina has it. The slot starts at `SLOT_PENDING`; the worker claims it with
 * `compareExchange(PENDING → STARTED)` right before running the task, and the main thread
 * revokes it with `compareExchange(PENDING → REVOKED)` to cancel a task piscina already holds:
 * whichever exchange happens first wins, so a task either runs or is skipped, never both.
 * A revoked task comes back from the worker as `undefined` without having run.
 */
export const SLOT_PENDING = 0;
/** The worker started the task (see {@link SLOT_PENDING}). */
export const SLOT_STARTED = 1;
/** The main thread revoked the task before it started (see {@link SLOT_PENDING}). */
export const SLOT_REVOKED = 2;

/** What the main thread posts for one task. */
export type TaskMessage = SourceTask | ModuleTask;

type TaskFunction = (...args: unknown[]) => unknown;

// Sources are usually a handful of functions; the bound only stops a program that builds
// functions dynamically from growing the cache without end.
const MAX_CACHED_SOURCES = 1000;
const compiled = new Map<string, TaskFunction>();
const modules = new Map<string, Promise<Record<string, unknown>>>();

function compiledFunction(source: string): TaskFunction {
  let fn = compiled.get(source);
  if (fn === undefined) {
    fn = compileTaskSource(source);
    if (compiled.size >= MAX_CACHED_SOURCES) compiled.delete(compiled.keys().next().value!);
    compiled.set(source, fn);
  }
  return fn;
}

async function moduleFunction(href: string, name: string): Promise<TaskFunction> {
  let namespace = modules.get(href);
  if (namespace === undefined) {
    namespace = import(href) as Promise<Record<string, unknown>>;
    modules.set(href, namespace);
    namespace.catch(() => modules.delete(href));
  }
  const fn = (await namespace)[name];
  if (typeof fn !== 'function') {
    throw new TypeError(
      `module ${href} has no exported function ${JSON.stringify(name)}` +
        (fn === undefined ? '' : ` (the export is a ${typeof fn})`),
    );
  }
  return fn as TaskFunction;
}

function finish(value: unknown): unknown {
  const check = checkCloneable([value], () => 'the result');
  if (check.problem !== undefined) {
    throw describeFailure(new TypeError(`${check.problem}`), 'result');
  }
  if (check.transferList === undefined) return value;
  return move({ [transferableSymbol]: check.transferList, [valueSymbol]: value } as never);
}

function failed(error: unknown, kind: TaskFailure['kind']): never {
  throw describeFailure(error, kind);
}

// Present in the executor's workers; absent when this file is merely imported (type checks,
// the main thread reading the slot constants).
const slots =
  workerData === null || typeof workerData !== 'object'
    ? undefined
    : new Int32Array((workerData as ExecutorWorkerData).slots);
const owners =
  workerData === null || typeof workerData !== 'object'
    ? undefined
    : new Int32Array((workerData as ExecutorWorkerData).owners);
const starts =
  workerData === null || typeof workerData !== 'object'
    ? undefined
    : new Float64Array((workerData as ExecutorWorkerData).starts);

// Tasks run one at a time per worker, even async ones: piscina hands a worker up to a few
// tasks at once (so it never idles between a result and the next task), and each must start
// only when the one before it is done, or one worker would run several tasks at once.
let pending = 0;
let tail: Promise<unknown> = Promise.resolve();

function settledOne(): void {
  pending--;
}

/** Run one task, after any still running on this worker. Returns its (posted) result, or
 * throws a {@link TaskFailure}; `undefined` for a task revoked before it started. */
export default function runTask(task: TaskMessage): unknown {
  if (pending === 0) {
    const result = startTask(task);
    if (!(result instanceof Promise)) return result;
    pending++;
    tail = result.then(settledOne, settledOne);
    return result;
  }
  pending++;
  const result = tail.then(() => startTask(task));
  tail = result.then(settledOne, settledOne);
  return result;
}

function startTask(task: TaskMessage): unknown {
  // Owner and start time are written before the slot is claimed: whoever sees SLOT_STARTED
  // (an atomic read of the atomic write below) sees them too.
  if (owners !== undefined) Atomics.store(owners, task.s, threadId);
  if (starts !== undefined) starts[task.s] = performance.timeOrigin + performance.now();
  if (
    slots !== undefined &&
    Atomics.compareExchange(slots, task.s, SLOT_PENDING, SLOT_STARTED) !== SLOT_PENDING
  ) {
    return undefined;
  }
  if ('f' in task) {
    let value: unknown;
    try {
      value = compiledFunction(task.f)(...task.a);
    } catch (error) {
      failed(error, error instanceof ReferenceError ? 'closure' : 'error');
    }
    if (value instanceof Promise) {
      return value.then(finish, (error: unknown) =>
        failed(error, error instanceof ReferenceError ? 'closure' : 'error'),
      );
    }
    return finish(value);
  }
  return moduleFunction(task.m, task.n).then(
    async (fn) => {
      let value: unknown;
      try {
        value = await fn(...task.a);
      } catch (error) {
        failed(error, 'error');
      }
      return finish(value);
    },
    (error: unknown) => failed(error, 'setup'),
  );
}
