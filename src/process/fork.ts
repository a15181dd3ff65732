/**
 * `forkProcesses` and `taskId`: Tornado's `fork_processes` on `node:cluster`.
 *
 * Node has no `fork()`: a child is a new Node process that runs the main module again from
 * the top. So the code before `forkProcesses()` runs in every process, and the call itself is
 * where the paths part: in the primary it supervises and never resolves; in a child it
 * resolves at once to the child's task id, which the primary hands over in the child's
 * environment (`TYPHOON_TASK_ID`, read once and removed, so a subprocess of a child does not
 * think it is a task).
 *
 * ```
 *   primary ── cluster.fork(TYPHOON_TASK_ID=0..n-1) ──► child: forkProcesses() → its id
 *      │ child died (code ≠ 0 or a signal) → fork the same id again (≤ maxRestarts in all)
 *      │ SIGINT/SIGTERM → forward it, restart nothing, exit 0 when every child is gone
 * ```
 *
 * Children that listen on the same fixed port each bind it with `SO_REUSEPORT` (Linux, the
 * BSDs), so the kernel spreads the connections; elsewhere, and for port 0, through cluster's
 * round-robin handle. See internal/fork-state.ts for the measurements behind that choice.
 * @module
 */

import process from 'node:process';
import cluster, { type Worker } from 'node:cluster';
// A namespace, not named imports: both are missing from Node 20, and a named import would fail
// the link before internal/node-version.ts can say which Node is needed.
import * as nodeModule from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForkProcessesError } from '../errors.ts';
import { genLog } from '../log.ts';
import { markForkedChild } from '../internal/fork-state.ts';

/** Options of {@link forkProcesses}. */
export interface ForkProcessesOptions {
  /**
   * How many abnormal child deaths (all children together) the primary repairs by starting
   * the child again; one more and it gives up: it stops the other children and exits with
   * status 1. Default 100, as Tornado.
   */
  maxRestarts?: number;
}

const TASK_ENV = 'TYPHOON_TASK_ID';
const COMPILE_CACHE_DIR = join(tmpdir(), 'node-compile-cache');
// How long a child that was told to stop (the primary giving up) gets before SIGKILL.
const GIVE_UP_GRACE_MS = 5_000;

// This process's task id, read once from the environment the primary gave it.
const ownTaskId: number | null = ((): number | null => {
  if (!cluster.isWorker) return null;
  const raw = process.env[TASK_ENV];
  if (raw === undefined) return null;
  // Not inherited by this child's own subprocesses: they are not tasks.
  delete process.env[TASK_ENV];
  if (!/^\d+$/.test(raw)) return null;
  // Listeners in this process share a fixed port with the other children by SO_REUSEPORT.
  markForkedChild();
  return Number(raw);
})();

let called = false;
let supervisor: Supervisor | null = null;
// What the primary does when a child asks for a reload (set by autoreload.ts).
let reloadRequestHandler: ((reason: string) => void) | null = null;

/**
 * Start `numProcesses` child processes (`0`: one per core, `os.availableParallelism()`) and
 * resolve, in each child, to its task id `0 … n-1`. In the primary the Promise never
 * resolves: the primary watches its children, starts a child again with the same id when it
 * dies abnormally (a non-zero status or a signal; at most `maxRestarts` times in all, then it
 * logs why, stops the rest and exits 1), forwards `SIGINT`/`SIGTERM` to the children, restarts
 * nothing after such a signal and exits 0 once every child is gone. A child that exits 0 is
 * not restarted. typhoon installs no signal handler in the children: the application's own
 * handler drains its servers (`server.stop({drainTimeout})`) and exits.
 *
 * Code before the call runs in every process (Node has no `fork()`); open listening sockets
 * and connections after it. Throws {@link ForkProcessesError} on a second call in the same
 * process or a count that is negative or not an integer.
 *
 * @example
 * ```ts
 * import { forkProcesses } from 'typhoon/process';
 * const id = await forkProcesses(4); // only the children get past this line
 * const server = await app.listen(8888);
 * const stop = () => void server.stop({ drainTimeout: 10_000 }).then(() => process.exit(0));
 * process.on('SIGTERM', stop);
 * process.on('SIGINT', stop);
 * ```
 * Tornado: `tornado.process.fork_processes`.
 */
export function forkProcesses(
  numProcesses = 0,
  options: ForkProcessesOptions = {},
): Promise<number> {
  if (!Number.isInteger(numProcesses) || numProcesses < 0) {
    throw new ForkProcessesError(
      `forkProcesses: the number of processes must be an integer >= 0, got ${String(numProcesses)}`,
    );
  }
  const maxRestarts = options.maxRestarts ?? 100;
  if (!Number.isInteger(maxRestarts) || maxRestarts < 0) {
    throw new ForkProcessesError(
      `forkProcesses: maxRestarts must be an integer >= 0, got ${String(maxRestarts)}`,
    );
  }
  if (called) {
    throw new ForkProcessesError('forkProcesses() was already called in this process');
  }
  if (cluster.isWorker) {
    if (ownTaskId === null) {
      throw new ForkProcessesError(
        'forkProcesses() called in a cluster worker that forkProcesses did not start',
      );
    }
    called = true;
    // The modules the application imported before this call are compiled now: write them to
    // the compile cache, so a restarted child loads them from there (see Supervisor #fork).
    if (nodeModule.getCompileCacheDir() !== undefined) nodeModule.flushCompileCache();
    return Promise.resolve(ownTaskId);
  }
  called = true;
  const count = numProcesses === 0 ? availableParallelism() : numProcesses;
  genLog.info(`Starting ${count} processes`);
  supervisor = new Supervisor(count, maxRestarts);
  // The primary's work is supervising; it never continues into the children's code.
  return new Promise<number>(() => {});
}

/**
 * The task id of this process: `0 … n-1` in a child started by {@link forkProcesses}, `null`
 * in the primary and in a process that never forked.
 *
 * @example
 * ```ts
 * const id = taskId();
 * appLog.info(id === null ? 'single process' : `child ${id}`);
 * ```
 * Tornado: `tornado.process.task_id`.
 */
export function taskId(): number | null {
  return ownTaskId;
}

/** @internal Whether this process is a primary supervising children (autoreload asks). */
export function isSupervising(): boolean {
  return supervisor !== null;
}

/**
 * @internal Stop every child (SIGTERM, no restart) and resolve once all are gone, without
 * exiting; autoreload calls it before the primary re-executes itself. Resolves at once when
 * this process supervises nothing.
 */
export function stopChildren(): Promise<void> {
  return supervisor === null ? Promise.resolve() : supervisor.stopForReload();
}

/** @internal Who handles a child's request to reload everything (autoreload.ts). */
export function setReloadRequestHandler(handler: ((reason: string) => void) | null): void {
  reloadRequestHandler = handler;
}

/** The message a child sends the primary to ask for a reload. */
export interface ReloadRequest {
  typhoon: 'autoreload';
  reason: string;
}

function isReloadRequest(message: unknown): message is ReloadRequest {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { typhoon?: unknown }).typhoon === 'autoreload'
  );
}

class Supervisor {
  readonly #ids = new Map<Worker, number>();
  readonly #maxRestarts: number;
  #restarts = 0;
  // 'run': restart the dead; 'stop': a signal came, exit 0 when empty; 'reload': resolve
  // #emptied when empty; 'giveUp': exit 1 when empty.
  #mode: 'run' | 'stop' | 'reload' | 'giveUp' = 'run';
  #emptied: (() => void) | null = null;
  #emptiedPromise: Promise<void> | null = null;

  constructor(count: number, maxRestarts: number) {
    this.#maxRestarts = maxRestarts;
    cluster.on('exit', (worker, code, signal) => this.#onExit(worker, code, signal));
    cluster.on('message', (_worker, message: unknown) => {
      if (isReloadRequest(message) && reloadRequestHandler !== null) {
        reloadRequestHandler(message.reason);
      }
    });
    const onSignal = (signal: NodeJS.Signals): void => this.#onSignal(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    for (let id = 0; id < count; id++) this.#fork(id);
  }

  #fork(id: number): void {
    // Node has no fork(): a restarted child loads and compiles the whole application again.
    // Node's compile cache (unless the user chose or disabled one) cuts that part, which is
    // most of a restart.
    const env: NodeJS.ProcessEnv = { [TASK_ENV]: String(id) };
    if (process.env.NODE_COMPILE_CACHE === undefined && !process.env.NODE_DISABLE_COMPILE_CACHE) {
      env.NODE_COMPILE_CACHE = COMPILE_CACHE_DIR;
    }
    const worker = cluster.fork(env);
    this.#ids.set(worker, id);
    // An IPC failure must not become an uncaught exception in the primary.
    worker.on('error', (error: Error) => genLog.warning(`child ${id}: ${error.message}`, error));
  }

  #onSignal(signal: NodeJS.Signals): void {
    if (this.#mode === 'run' || this.#mode === 'reload') this.#mode = 'stop';
    genLog.info(`${signal} received: stopping ${this.#ids.size} children`);
    if (this.#ids.size === 0) this.#finish();
    for (const worker of this.#ids.keys()) worker.process.kill(signal);
  }

  stopForReload(): Promise<void> {
    if (this.#mode === 'run') this.#mode = 'reload';
    this.#emptiedPromise ??= new Promise<void>((resolve) => {
      this.#emptied = resolve;
    });
    if (this.#ids.size === 0) this.#finish();
    else for (const worker of this.#ids.keys()) worker.process.kill('SIGTERM');
    return this.#emptiedPromise;
  }

  #onExit(worker: Worker, code: number, signal: string | null): void {
    const id = this.#ids.get(worker);
    if (id === undefined) return;
    this.#ids.delete(worker);
    const pid = worker.process.pid ?? 0;
    if (this.#mode !== 'run') {
      if (this.#ids.size === 0) this.#finish();
      return;
    }
    if (signal === null && code === 0) {
      genLog.info(`child ${id} (pid ${pid}) exited successfully`);
      if (this.#ids.size === 0) this.#finish();
      return;
    }
    const how = signal !== null ? `killed by signal ${signal}` : `exited with status ${code}`;
    if (++this.#restarts > this.#maxRestarts) {
      genLog.error(
        `child ${id} (pid ${pid}) ${how}; too many child restarts ` +
          `(more than maxRestarts = ${this.#maxRestarts}), giving up`,
      );
      this.#giveUp();
      return;
    }
    genLog.warning(`child ${id} (pid ${pid}) ${how}, restarting`);
    this.#fork(id);
  }

  #giveUp(): void {
    this.#mode = 'giveUp';
    if (this.#ids.size === 0) {
      this.#finish();
      return;
    }
    for (const worker of this.#ids.keys()) worker.process.kill('SIGTERM');
    // No child may outlive a primary that gave up, not even one whose SIGTERM handler hangs.
    setTimeout(() => {
      for (const worker of this.#ids.keys()) worker.process.kill('SIGKILL');
    }, GIVE_UP_GRACE_MS).unref();
  }

  #finish(): void {
    switch (this.#mode) {
      case 'reload':
        this.#emptied?.();
        return;
      case 'giveUp':
        process.exit(1);
        break;
      default:
        process.exit(0);
    }
  }
}
