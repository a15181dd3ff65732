/**
 * `Subprocess`: run a program with `IOStream`s on its pipes and a Future for its exit.
 *
 * Node's `child_process.spawn` does the work (no shell: `argv[0]` is the program); on Linux
 * and macOS a child's pipes are `net.Socket`s, so each one asked for with
 * {@link Subprocess.STREAM} becomes an {@link IOStream} with the usual reads (`readUntil`,
 * `readBytes`, `readUntilClose`, all returning Buffers) and writes.
 * @module
 */

import process from 'node:process';
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type * as net from 'node:net';
import { Future } from '../concurrent.ts';
import { CalledProcessError } from '../errors.ts';
import { IOStream } from '../iostream/index.ts';
import { appLog } from '../log.ts';

const STREAM: unique symbol = Symbol('Subprocess.STREAM');

/** What one of a subprocess's stdin, stdout and stderr is connected to. */
export type SubprocessStdio = typeof STREAM | 'inherit' | 'ignore';

/** Options of {@link Subprocess}. */
export interface SubprocessOptions {
  /** `Subprocess.STREAM` (an `IOStream` on `.stdin`), `'inherit'` (default) or `'ignore'`. */
  stdin?: SubprocessStdio;
  /** `Subprocess.STREAM` (an `IOStream` on `.stdout`), `'inherit'` (default) or `'ignore'`. */
  stdout?: SubprocessStdio;
  /** `Subprocess.STREAM` (an `IOStream` on `.stderr`), `'inherit'` (default) or `'ignore'`. */
  stderr?: SubprocessStdio;
  /** Working directory of the child. Default: this process's. */
  cwd?: string;
  /** The child's whole environment. Default: this process's `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Options of {@link Subprocess.waitForExit}. */
export interface WaitForExitOptions {
  /**
   * Reject with {@link CalledProcessError} when the status is not 0 (default true); with
   * false, resolve to the status whatever it is.
   */
  raiseError?: boolean;
}

type Waiter = (returncode: number | null, error: Error | null) => void;

function stdioOf(option: SubprocessStdio | undefined, name: string): 'pipe' | 'inherit' | 'ignore' {
  if (option === undefined || option === 'inherit') return 'inherit';
  if (option === STREAM) return 'pipe';
  if (option === 'ignore') return 'ignore';
  throw new TypeError(
    `Subprocess: ${name} must be Subprocess.STREAM, 'inherit' or 'ignore', got ${String(option)}`,
  );
}

/**
 * A child process running `argv` (no shell), with optional {@link IOStream}s on its standard
 * streams. `waitForExit()` gives a Future of its exit status; a child killed by a signal
 * reports minus the signal number (`-9` for `SIGKILL`), as Tornado does. A stream not asked
 * for is `null`. A program that cannot start (`ENOENT`, `EACCES`) rejects `waitForExit()`
 * with Node's error; an empty `argv` throws a `TypeError`.
 *
 * @example
 * ```ts
 * const proc = new Subprocess(['cat'], { stdin: Subprocess.STREAM, stdout: Subprocess.STREAM });
 * await proc.stdin!.write('hello\n');
 * proc.stdin!.close();
 * const line = await proc.stdout!.readUntil('\n'); // <Buffer 68 65 6c 6c 6f 0a>
 * await proc.waitForExit(); // 0
 * ```
 * Tornado: `tornado.process.Subprocess`.
 */
export class Subprocess {
  /** Ask for an `IOStream` on a standard stream. Tornado: `Subprocess.STREAM`. */
  static readonly STREAM: typeof STREAM = STREAM;

  /** The underlying Node child process. Tornado: `Subprocess.proc`. */
  readonly proc: ChildProcess;
  /** An `IOStream` writing to the child's stdin, or `null` when not asked for. */
  readonly stdin: IOStream | null;
  /** An `IOStream` reading the child's stdout, or `null` when not asked for. */
  readonly stdout: IOStream | null;
  /** An `IOStream` reading the child's stderr, or `null` when not asked for. */
  readonly stderr: IOStream | null;

  readonly #argv: readonly string[];
  #returncode: number | null = null;
  #startError: Error | null = null;
  #waiters: Waiter[] = [];
  #exitCallback: ((returncode: number) => unknown) | null = null;

  constructor(argv: readonly string[], options: SubprocessOptions = {}) {
    if (
      !Array.isArray(argv) ||
      argv.length === 0 ||
      typeof argv[0] !== 'string' ||
      argv[0] === ''
    ) {
      throw new TypeError(
        'Subprocess: argv must be a non-empty array whose first item is the program',
      );
    }
    this.#argv = [...argv];
    const stdio: StdioOptions = [
      stdioOf(options.stdin, 'stdin'),
      stdioOf(options.stdout, 'stdout'),
      stdioOf(options.stderr, 'stderr'),
    ];
    const spawnOptions: Parameters<typeof spawn>[2] = { stdio, env: options.env ?? process.env };
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    const proc = spawn(argv[0], argv.slice(1), spawnOptions);
    this.proc = proc;
    // On POSIX a child's pipes are net.Sockets (libuv pipe handles), which IOStream wraps.
    this.stdin = proc.stdin === null ? null : new IOStream(proc.stdin as net.Socket);
    this.stdout = proc.stdout === null ? null : new IOStream(proc.stdout as net.Socket);
    this.stderr = proc.stderr === null ? null : new IOStream(proc.stderr as net.Socket);
    proc.once('exit', (code, signal) => {
      this.#finish(code ?? -(constants.signals[signal as NodeJS.Signals] ?? 0), null);
    });
    proc.on('error', (error) => {
      // 'error' after a successful start (a failed kill, an IPC failure) changes nothing here.
      if (proc.pid !== undefined || this.#returncode !== null) return;
      this.stdin?.close();
      this.stdout?.close();
      this.stderr?.close();
      if (this.#waiters.length === 0) {
        // Nobody is waiting yet: say so now, so the failure is never silent.
        appLog.error(`Subprocess ${JSON.stringify(argv[0])} could not start`, error);
      }
      this.#finish(null, error);
    });
  }

  /** The child's process id; `undefined` when the program could not start. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** The exit status once known (minus the signal number for a signal), else `null`. */
  get returncode(): number | null {
    return this.#returncode;
  }

  /**
   * A Future of the child's exit status. With `raiseError` (the default) a status other than
   * 0 rejects with {@link CalledProcessError} (`returncode`); a program that could not start
   * rejects with Node's error (`code: 'ENOENT'` …). May be called any number of times, before
   * or after the exit.
   *
   * @example
   * ```ts
   * const code = await new Subprocess(['sh', '-c', 'exit 3']).waitForExit({ raiseError: false }); // 3
   * ```
   * Tornado: `Subprocess.wait_for_exit`.
   */
  waitForExit(options: WaitForExitOptions = {}): Future<number> {
    const raiseError = options.raiseError ?? true;
    const future = new Future<number>();
    this.#onDone((returncode, error) => {
      if (error !== null) future.setException(error);
      else if (raiseError && returncode !== 0) {
        future.setException(new CalledProcessError(returncode!, { cmd: this.#argv }));
      } else future.setResult(returncode!);
    });
    return future;
  }

  /**
   * Call `callback(returncode)` once the child has exited (soon, if it already has). It
   * replaces an earlier callback. An exception it throws is logged. Not called for a program
   * that could not start (that failure is logged unless `waitForExit()` reports it).
   *
   * @example
   * ```ts
   * proc.setExitCallback((code) => appLog.info(`worker exited with ${code}`));
   * ```
   * Tornado: `Subprocess.set_exit_callback`.
   */
  setExitCallback(callback: (returncode: number) => unknown): void {
    this.#exitCallback = callback;
    if (this.#returncode !== null) {
      const code = this.#returncode;
      queueMicrotask(() => this.#runExitCallback(callback, code));
    }
  }

  #onDone(waiter: Waiter): void {
    if (this.#returncode !== null || this.#startError !== null) {
      waiter(this.#returncode, this.#startError);
    } else this.#waiters.push(waiter);
  }

  #finish(returncode: number | null, error: Error | null): void {
    if (this.#returncode !== null || this.#startError !== null) return;
    this.#returncode = returncode;
    this.#startError = error;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter(returncode, error);
    if (returncode !== null && this.#exitCallback !== null) {
      this.#runExitCallback(this.#exitCallback, returncode);
    }
  }

  #runExitCallback(callback: (returncode: number) => unknown, returncode: number): void {
    try {
      const result = callback(returncode);
      if (result !== null && typeof (result as PromiseLike<unknown>)?.then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (error: unknown) =>
          appLog.error('Exception in Subprocess exit callback', error),
        );
      }
    } catch (error) {
      appLog.error('Exception in Subprocess exit callback', error);
    }
  }
}
