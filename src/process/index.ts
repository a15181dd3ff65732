/// <reference types="node" preserve="true" />

/**
 * `typhoon/process`: many processes and child programs.
 *
 * - {@link forkProcesses} and {@link taskId}: serve from several processes on `node:cluster`,
 *   with Tornado's supervision (restart a crashed child, stop cleanly on a signal).
 * - {@link Subprocess}: run a program with `IOStream`s on its pipes and a Future for its exit.
 * - `autoreload` ({@link autoreload}, also `typhoon/autoreload`): restart on a source change.
 *
 * @example
 * ```ts
 * import { forkProcesses, taskId } from 'typhoon/process';
 * await forkProcesses(0); // one child per core
 * console.log(`serving from child ${taskId()}`);
 * ```
 * Tornado: `tornado.process` and `tornado.autoreload`.
 * @module typhoon/process
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import { addReloadHook, start, watch } from './autoreload.ts';

export { forkProcesses, taskId } from './fork.ts';
export type { ForkProcessesOptions } from './fork.ts';
export { Subprocess } from './subprocess.ts';
export type { SubprocessOptions, SubprocessStdio, WaitForExitOptions } from './subprocess.ts';
export type { AutoreloadOptions } from './autoreload.ts';

/**
 * Tornado's `tornado.autoreload` as one object: `autoreload.start({checkTime})`,
 * `autoreload.watch(path)`, `autoreload.addReloadHook(fn)`. The same functions are the
 * exports of `typhoon/autoreload`.
 *
 * @example
 * ```ts
 * import { autoreload } from 'typhoon';
 * autoreload.start();
 * autoreload.watch('settings.json');
 * autoreload.addReloadHook(() => console.log('reloading'));
 * ```
 * Tornado: `tornado.autoreload`.
 */
export const autoreload: {
  readonly start: typeof start;
  readonly watch: typeof watch;
  readonly addReloadHook: typeof addReloadHook;
} = Object.freeze({ start, watch, addReloadHook });
