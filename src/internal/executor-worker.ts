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
 * Layer 0: imports only other internals and piscina, whose `move()` is how a result is
 * handed over with a transfer list.
 * @module
 */

import { move, transferableSymbol, valueSymbol } from 'piscina';
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
}

/** An export of a module. */
export interface ModuleTask {
  /** The module's `file:` URL. */
  m: string;
  /** The export's name. */
  n: string;
  /** Its arguments. */
  a: unknown[];
}

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

/** Run one task. Returns its (posted) result or throws a {@link TaskFailure}. */
export default function runTask(task: TaskMessage): unknown {
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
