/**
 * What can cross a thread boundary: a cheap pre-flight check that values survive structured
 * clone, and the `transfer()` marks that move buffers and ports instead of copying them.
 *
 * Used on both sides of the executor: the main thread checks a task's arguments before
 * queueing it (so a bad argument fails at `submit()`, before any work starts, with a message
 * that names the argument), and the worker checks a task's result before posting it (a
 * `DataCloneError` inside `postMessage` would otherwise kill the worker).
 *
 * Imports nothing from typhoon (the worker loads it too). Problems come back as strings;
 * callers wrap them in their typed error.
 * @module
 */

import { types } from 'node:util';
// A namespace, not named imports: isMarkedAsUntransferable is missing from Node 20, and a named
// import of it would fail the link before internal/node-version.ts can say which Node is needed.
import * as workerThreads from 'node:worker_threads';
import { MessagePort } from 'node:worker_threads';

// The marks live in one WeakSet per thread, found through a registered symbol: the worker
// entry and a user module that imports typhoon from another path (src vs dist) still share it.
const MARKS_KEY = Symbol.for('typhoon.executor.transferMarks');
const globalMarks = globalThis as unknown as Record<symbol, WeakSet<object> | undefined>;
const marks: WeakSet<object> = (globalMarks[MARKS_KEY] ??= new WeakSet<object>());

/** What `transfer()` accepts: memory or a port that can be moved to another thread. */
export type TransferableValue = ArrayBuffer | ArrayBufferView | MessagePort;

/**
 * Mark `value` to be moved, not copied, when it crosses to or from a worker. Returns `value`
 * itself, so it can wrap an argument in place. Throws a TypeError (with the reason) when the
 * value cannot be moved.
 */
export function markTransfer<T extends TransferableValue>(value: T): T {
  if (value instanceof MessagePort) {
    marks.add(value);
    return value;
  }
  const buffer = ArrayBuffer.isView(value) ? value.buffer : value;
  if (!(buffer instanceof ArrayBuffer)) {
    throw new TypeError(
      'transfer() takes an ArrayBuffer, a typed array or DataView over one, or a MessagePort' +
        (types.isSharedArrayBuffer(buffer)
          ? '; a SharedArrayBuffer is already shared between threads, pass it as it is'
          : ''),
    );
  }
  if (workerThreads.isMarkedAsUntransferable(buffer)) {
    // Small Buffers are slices of Node's shared allocation pool; moving the pool would
    // detach every other Buffer allocated from it.
    throw new TypeError(
      'transfer(): this buffer is a slice of a pool shared with other Buffers and cannot be ' +
        'moved; copy it first (Buffer.from(buf) or new Uint8Array(buf)) or allocate it with ' +
        'Buffer.alloc/new ArrayBuffer',
    );
  }
  marks.add(value);
  return value;
}

/** The result of {@link checkCloneable}. */
export interface CloneCheck {
  /** Why the value cannot be structured-cloned (with where, e.g. `argument 2.items[3]`). */
  problem: string | undefined;
  /** Buffers and ports marked with `transfer()`, to pass as the transfer list. */
  transferList: Array<ArrayBuffer | MessagePort> | undefined;
}

const NO_PROBLEM: CloneCheck = Object.freeze({ problem: undefined, transferList: undefined });

interface ScanState {
  seen: Set<object> | undefined;
  transferList: Array<ArrayBuffer | MessagePort> | undefined;
}

/**
 * Check that every value of `values` can be structured-cloned, collecting `transfer()`-marked
 * buffers and ports. `label(i)` names the i-th value in messages (`argument 1`, `result`).
 *
 * Plain data (primitives, plain objects, arrays, Maps, Sets, Dates, RegExps, errors, typed
 * arrays) is walked without copying; an object of any other class is test-cloned, which is the
 * only way to know whether a platform object clones.
 */
export function checkCloneable(
  values: readonly unknown[],
  label: (i: number) => string,
): CloneCheck {
  // Fast path: primitives (the common case for small tasks) always clone.
  let i = 0;
  while (i < values.length) {
    const type = typeof values[i];
    if ((type === 'object' && values[i] !== null) || type === 'function' || type === 'symbol')
      break;
    i++;
  }
  if (i === values.length) return NO_PROBLEM;
  const state: ScanState = { seen: undefined, transferList: undefined };
  for (let i = 0; i < values.length; i++) {
    const problem = scan(values[i], state);
    if (problem !== undefined) {
      return { problem: `${label(i)}${problem}`, transferList: undefined };
    }
  }
  return { problem: undefined, transferList: state.transferList };
}

function describeFunction(fn: (...args: never[]) => unknown): string {
  return fn.name ? `function ${fn.name}` : 'an anonymous function';
}

// Returns undefined when `value` clones, else the path inside it and the reason, e.g.
// `.user.callback is a function (onDone): ...`. Paths are built only on the way back up, so
// the common (valid) case allocates nothing.
function scan(value: unknown, state: ScanState): string | undefined {
  switch (typeof value) {
    case 'function':
      return (
        ` is ${describeFunction(value as () => unknown)}: functions cannot be structured-cloned ` +
        `(send data, and give the worker its code through submit() or a module)`
      );
    case 'symbol':
      return ' is a symbol: symbols cannot be structured-cloned';
    case 'object':
      break;
    default:
      return undefined;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (state.seen === undefined) state.seen = new Set();
  else if (state.seen.has(object)) return undefined;
  state.seen.add(object);

  if (marks.has(object)) {
    const moved = ArrayBuffer.isView(object)
      ? (object.buffer as ArrayBuffer)
      : (object as ArrayBuffer);
    (state.transferList ??= []).push(moved);
  }
  if (ArrayBuffer.isView(object) || object instanceof ArrayBuffer) return undefined;
  if (types.isProxy(object)) return ' is a Proxy: proxies cannot be structured-cloned';
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const problem = scan(object[i], state);
      if (problem !== undefined) return `[${i}]${problem}`;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(object);
  if (proto === Object.prototype || proto === null) {
    for (const key of Object.keys(object)) {
      const problem = scan((object as Record<string, unknown>)[key], state);
      if (problem !== undefined) return `.${key}${problem}`;
    }
    return undefined;
  }
  if (object instanceof Map) {
    for (const [key, entry] of object) {
      const problem = scan(key, state) ?? scan(entry, state);
      if (problem !== undefined) return ` (a Map) has an entry that${problem}`;
    }
    return undefined;
  }
  if (object instanceof Set) {
    for (const entry of object) {
      const problem = scan(entry, state);
      if (problem !== undefined) return ` (a Set) has a member that${problem}`;
    }
    return undefined;
  }
  if (
    object instanceof Date ||
    object instanceof RegExp ||
    object instanceof Error ||
    types.isBoxedPrimitive(object) ||
    types.isSharedArrayBuffer(object)
  ) {
    return undefined;
  }
  if (object instanceof MessagePort) {
    return marks.has(object)
      ? undefined
      : ' is a MessagePort: a port can only be moved, wrap it in transfer(port)';
  }
  if (types.isPromise(object)) {
    return ' is a Promise: await it and pass its value instead';
  }
  // Another class: a platform object (socket, KeyObject, …) or a user class. Only a trial
  // clone knows; note that user class instances arrive as plain objects (no prototype).
  try {
    structuredClone(object, { transfer: [] });
  } catch (error) {
    const name = (proto as { constructor?: { name?: string } } | null)?.constructor?.name;
    const reason = error instanceof Error ? error.message : String(error);
    return ` (${name ? `a ${name}` : 'an object'}) cannot be structured-cloned: ${reason}`;
  }
  return undefined;
}

/**
 * Rebuild a task function from its source text (`fn.toString()`). Free variables of the
 * source resolve against the worker's globals only; `transfer` is in scope so a task can move
 * its result. Throws SyntaxError when the text is not a function expression or a method.
 */
export function compileTaskSource(source: string): (...args: unknown[]) => unknown {
  try {
    const factory = new Function('transfer', `'use strict';\nreturn (${source}\n);`);
    return factory(markTransfer) as (...args: unknown[]) => unknown;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // A method's text (`hash(p) { … }`, `async *items() { … }`) is not an expression on its
    // own, but it is as the single member of an object literal.
    let holder: object;
    try {
      holder = new Function('transfer', `'use strict';\nreturn {${source}\n};`)(
        markTransfer,
      ) as object;
    } catch {
      throw error;
    }
    const key = Reflect.ownKeys(holder)[0];
    const member =
      key === undefined ? undefined : Object.getOwnPropertyDescriptor(holder, key)?.value;
    if (typeof member !== 'function') throw error;
    return member as (...args: unknown[]) => unknown;
  }
}

/** A task's failure as it crosses back from a worker: a plain, always-cloneable record. */
export interface TaskFailure {
  /** Tags the record (a thrown plain object is otherwise indistinguishable). */
  typhoonTaskFailure: 1;
  /** `error`: the task threw; `closure`: it hit a free variable (ReferenceError) in a task
   * shipped by source; `result`: its result cannot be cloned; `setup`: the module or export
   * could not be loaded. */
  kind: 'error' | 'closure' | 'result' | 'setup';
  name: string;
  message: string;
  stack: string | undefined;
  /** Cloneable own properties of the error (`code`, `errno`, …). */
  props: Record<string, unknown> | undefined;
  /** The thrown value itself when it was not an Error (and clones). */
  thrown?: unknown;
}

/** Turn whatever a task threw into a {@link TaskFailure}. */
export function describeFailure(error: unknown, kind: TaskFailure['kind']): TaskFailure {
  if (error instanceof Error) {
    let props: Record<string, unknown> | undefined;
    for (const key of Object.keys(error)) {
      const value = (error as unknown as Record<string, unknown>)[key];
      if (checkCloneable([value], () => '').problem === undefined) (props ??= {})[key] = value;
    }
    return {
      typhoonTaskFailure: 1,
      kind,
      name: error.name,
      message: error.message,
      stack: error.stack,
      props,
    };
  }
  const failure: TaskFailure = {
    typhoonTaskFailure: 1,
    kind,
    name: 'Error',
    message: `task threw a non-Error value: ${String(error)}`,
    stack: undefined,
    props: undefined,
  };
  if (checkCloneable([error], () => '').problem === undefined) failure.thrown = error;
  return failure;
}

/** True if `x` is a {@link TaskFailure} record. */
export function isTaskFailure(x: unknown): x is TaskFailure {
  return typeof x === 'object' && x !== null && (x as TaskFailure).typhoonTaskFailure === 1;
}
