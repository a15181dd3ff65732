/**
 * What crosses the thread boundary, on the main thread: a task function checked and turned
 * into source text, a module resolved to its `file:` URL, buffers marked to move with
 * {@link transfer}, and a worker's failure turned back into an error of its own class (or
 * into `WorkerCrashedError` when the worker died under the task).
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TaskSerializationError, WorkerCrashedError } from '../errors.ts';
import {
  compileTaskSource,
  markTransfer,
  type TaskFailure,
  type TransferableValue,
} from './structured.ts';

// Sources are checked once per function object (compiling the text on the main thread is
// how a method or an odd `toString()` is caught before anything is queued), and once per
// source text: an arrow function written inline in the call, `submit((x) => x + 1, i)`, is a
// new object on every call but the same text, and compiling it again per task would cost more
// than the task's whole round trip to a worker. The text cache is bounded like the workers'.
const sourceCache = new WeakMap<(...args: never[]) => unknown, string>();
const checkedSources = new Set<string>();
const MAX_CHECKED_SOURCES = 1000;

export function taskSource(fn: unknown): string {
  if (typeof fn !== 'function') {
    throw new TypeError(`submit() needs a function, got ${fn === null ? 'null' : typeof fn}`);
  }
  const cached = sourceCache.get(fn as () => unknown);
  if (cached !== undefined) return cached;
  const source = Function.prototype.toString.call(fn);
  if (checkedSources.has(source)) return source;
  const label = fn.name ? `function ${fn.name}` : 'the task function';
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TaskSerializationError(
      fn.name.startsWith('bound ')
        ? `${label} is a bound function: its bound this/arguments cannot cross to a worker ` +
            'thread; submit the original function and pass those values as arguments'
        : `${label} is a native function: it has no source text to send to a worker thread; ` +
            'wrap the call in a function of your own',
    );
  }
  if (/^class\b/.test(source)) {
    throw new TaskSerializationError(`${label} is a class; submit a function`);
  }
  try {
    compileTaskSource(source);
  } catch (error) {
    throw new TaskSerializationError(
      `${label} cannot be rebuilt from its source text on a worker thread: ` +
        (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
  }
  sourceCache.set(fn as () => unknown, source);
  if (checkedSources.size >= MAX_CHECKED_SOURCES) {
    checkedSources.delete(checkedSources.values().next().value!);
  }
  checkedSources.add(source);
  return source;
}

export function moduleHref(module: string | URL): string {
  let url: URL;
  if (module instanceof URL) url = module;
  else if (typeof module === 'string' && module.startsWith('file:')) url = new URL(module);
  else if (typeof module === 'string' && isAbsolute(module)) url = pathToFileURL(module);
  else {
    throw new TypeError(
      `ThreadPoolExecutor module must be an absolute path, a file: URL string or a URL, got ` +
        JSON.stringify(String(module)) +
        ' (resolve it first, e.g. new URL("./tasks.ts", import.meta.url))',
    );
  }
  if (url.protocol !== 'file:') {
    throw new TypeError(`ThreadPoolExecutor module must be a file: URL, got ${url.href}`);
  }
  if (!existsSync(url)) throw new TypeError(`ThreadPoolExecutor module not found: ${url.href}`);
  return url.href;
}

const BUILTIN_ERRORS: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

// Rebuild the worker's error on this thread: same class for the built-in ones (so
// `instanceof TypeError` holds), same name, message, stack and cloneable own properties.
function rebuildError(failure: TaskFailure): Error {
  if (failure.thrown !== undefined && failure.kind === 'error') {
    const error = new Error(failure.message);
    (error as Error & { thrown?: unknown }).thrown = failure.thrown;
    return error;
  }
  const error = new (BUILTIN_ERRORS[failure.name] ?? Error)(failure.message);
  if (error.name !== failure.name) {
    Object.defineProperty(error, 'name', {
      value: failure.name,
      configurable: true,
      writable: true,
      enumerable: false,
    });
  }
  if (failure.stack !== undefined) error.stack = failure.stack;
  if (failure.props !== undefined) Object.assign(error, failure.props);
  return error;
}

export function taskError(failure: TaskFailure, what: string): Error {
  const error = rebuildError(failure);
  switch (failure.kind) {
    case 'closure':
      return new TaskSerializationError(
        `${what} failed on the worker thread with ${failure.name}: ${failure.message}. ` +
          'A function given to submit() is rebuilt from its source text alone, so it cannot ' +
          'use variables, imports or helpers from the scope it was written in (closures ' +
          "can't cross threads): pass what it needs as arguments, or put it in a module and " +
          'use new ThreadPoolExecutor({module}).call()',
        { cause: error },
      );
    case 'result':
      return new TaskSerializationError(
        `${what} returned a value that cannot be sent back from the worker thread: ` +
          `${failure.message}`,
        { cause: error },
      );
    default:
      return error;
  }
}

const EXIT_MESSAGE = /worker exited with code: (-?\d+)/;

// piscina rejects a task with a plain Error when its worker died under it: an exit (code in
// the message) or an uncaught exception (the error itself).
export function crashError(error: unknown, what: string): WorkerCrashedError {
  const message = error instanceof Error ? error.message : String(error);
  const exit = EXIT_MESSAGE.exec(message);
  if (exit !== null) {
    const exitCode = Number(exit[1]);
    return new WorkerCrashedError(
      `the worker thread exited with code ${exitCode} while running ${what}`,
      { exitCode },
    );
  }
  return new WorkerCrashedError(
    `the worker thread died while running ${what}: uncaught ${
      error instanceof Error ? `${error.name}: ${message}` : message
    }`,
    { cause: error },
  );
}

/**
 * Mark a buffer (an `ArrayBuffer`, or a typed array/`DataView` whose whole buffer moves) or a
 * `MessagePort` to be moved to the worker instead of copied; returns it unchanged, so it wraps
 * an argument in place. After the call the sender's buffer is detached (length 0). Inside a
 * function given to `submit()`, `transfer` is in scope as well, to move a result back.
 * Throws `TaskSerializationError` for a buffer that cannot move (a small `Buffer` carved from
 * Node's shared pool: copy it first).
 *
 * @example
 * ```ts
 * const pixels = new Uint8Array(16 * 2 ** 20);
 * const sum = await pool.submit((p: Uint8Array) => p.reduce((a, b) => a + b, 0), transfer(pixels));
 * pixels.length; // 0: the memory now belongs to the worker
 * ```
 * Tornado: none (Python threads share memory); the web platform's `postMessage` transfer list.
 */
export function transfer<T extends TransferableValue>(value: T): T {
  try {
    return markTransfer(value);
  } catch (error) {
    throw new TaskSerializationError((error as Error).message, { cause: error });
  }
}
