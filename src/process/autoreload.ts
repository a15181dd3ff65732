/// <reference types="node" preserve="true" />

/**
 * Autoreload: restart the process when its source changes. For development only; never on
 * unless asked for (`start()`, or the `debug` / `autoreload` application setting).
 *
 * Which files are watched. ESM keeps no list of loaded modules, so "the loaded source
 * modules" are made concrete as:
 * 1. the main module (`process.argv[1]`) and its static import graph, found when `start()` is
 *    called by reading each file and following its relative imports (`import … from './x.ts'`,
 *    `export … from`, `import('./y.ts')` with a literal string);
 * 2. every module resolved after that, recorded by a `module.registerHooks` resolve hook —
 *    dynamic imports, and after the first reload everything, because the process then starts
 *    through a small launcher that installs the hook before importing the main module;
 * 3. what {@link watch} was given (a file, or a directory whose files are all watched).
 *
 * Files under a `node_modules` directory are left out (an install touches thousands of
 * them); restart by hand after one. Every `checkTime` ms each file's modification time is
 * compared with the one first seen, as Tornado polls.
 *
 * What a change does: the reload hooks run, then the process re-executes itself with the same
 * arguments (`process.execve`: same PID, same terminal; where it is missing, a replacement is
 * spawned with the same stdio and this process exits). It re-executes through the launcher
 * (launcher.ts), which imports the main module and, if that fails — a syntax error being
 * typed — prints the error once and waits for the next change instead of dying, so the
 * developer always has either a server or a message. Under `forkProcesses` a child never
 * re-executes itself (`execve` would cut its IPC channel): it asks the primary, which stops its
 * children and re-executes; the new primary forks new children.
 * @module typhoon/autoreload
 */

// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
import process from 'node:process';
import cluster from 'node:cluster';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
// A namespace, not named imports: both are missing from Node 20, and a named import would fail
// the link before internal/node-version.ts can say which Node is needed.
import * as nodeModule from 'node:module';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { appLog, genLog } from '../log.ts';
import {
  isSupervising,
  setReloadRequestHandler,
  stopChildren,
  type ReloadRequest,
} from './fork.ts';

/** Options of {@link start}. */
export interface AutoreloadOptions {
  /** How often, in ms, modification times are checked. Default 500, as Tornado. */
  checkTime?: number;
}

// path → modification time first seen (ms), or null for a file that did not exist then.
const files = new Map<string, number | null>();
// Watched directories: every file in them counts, also files added later.
const directories = new Set<string>();
const hooks: Array<() => unknown> = [];
let timer: ReturnType<typeof setInterval> | null = null;
let recording = false;
let reloading = false;
// Most files taken from one watched directory, so a mistaken `watch('/')` stays cheap.
const MAX_DIRECTORY_FILES = 5_000;

/**
 * Start watching: from now on a change to a loaded source module, a watched file or a
 * watched directory runs the reload hooks and re-executes the process with the same arguments.
 * A second call does nothing. Does nothing (with a warning) where the process cannot be
 * re-executed: no main module (`node -e`), or a worker thread.
 *
 * @example
 * ```ts
 * import * as autoreload from 'typhoon/autoreload';
 * autoreload.start({ checkTime: 250 });
 * autoreload.watch('config/settings.json');
 * ```
 * Tornado: `tornado.autoreload.start`.
 */
export function start(options: AutoreloadOptions = {}): void {
  if (timer !== null) return;
  const checkTime = options.checkTime ?? 500;
  if (!(checkTime > 0)) throw new RangeError(`checkTime must be > 0, got ${String(checkTime)}`);
  const main = process.argv[1];
  if (main === undefined || !isMainThread) {
    genLog.warning('autoreload: no main module to re-execute here (node -e, a worker thread)');
    return;
  }
  startRecording();
  for (const file of staticImportGraph(resolve(main))) addFile(file);
  timer = setInterval(check, checkTime);
  // Watching alone must not keep a process alive that would otherwise exit.
  timer.unref();
}

/**
 * Also restart when `path` changes: a file, or a directory (any file in it changing, appearing
 * or disappearing). Relative paths are taken from the current directory. Takes effect once
 * {@link start} has been called.
 *
 * @example
 * ```ts
 * autoreload.watch('templates');
 * ```
 * Tornado: `tornado.autoreload.watch`.
 */
export function watch(path: string): void {
  const full = resolve(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(full).isDirectory();
  } catch {
    // A file that does not exist yet: watched for its appearance and changes.
  }
  if (isDirectory) {
    if (!directories.has(full)) {
      directories.add(full);
      for (const file of listDirectory(full)) addFile(file);
    }
  } else addFile(full);
}

/**
 * Run `fn` just before the process re-executes (close connections, flush what must not be
 * lost). Hooks run in the order added; one that throws is logged and the rest still run; one
 * that returns a Promise is awaited.
 *
 * @example
 * ```ts
 * autoreload.addReloadHook(() => database.close());
 * ```
 * Tornado: `tornado.autoreload.add_reload_hook`.
 */
export function addReloadHook(fn: () => unknown): void {
  hooks.push(fn);
}

/** @internal The files being watched, for tests and the curious. */
export function watchedFiles(): string[] {
  return [...files.keys()];
}

/**
 * @internal Record every module resolved from now on (the launcher calls this before it
 * imports the main module, so the whole graph is known).
 */
export function startRecording(): void {
  if (recording) return;
  recording = true;
  nodeModule.registerHooks({
    resolve(specifier, context, nextResolve) {
      const result = nextResolve(specifier, context);
      if (result.url.startsWith('file:')) addFile(fileURLToPath(result.url));
      return result;
    },
  });
}

/**
 * @internal The launcher's way to wait after the main module failed to start: watch what was
 * recorded (the failing module included: it was resolved before it failed to load) and
 * re-execute on the next change. The timer keeps the process alive meanwhile.
 */
export function waitForChangeAfterFailure(main: string, checkTime = 500): void {
  addFile(resolve(main));
  if (timer !== null) {
    timer.ref();
    return;
  }
  timer = setInterval(check, checkTime);
}

function addFile(file: string): void {
  if (files.has(file) || isExcluded(file)) return;
  files.set(file, mtimeOf(file));
}

function isExcluded(file: string): boolean {
  return file.includes(`${sep}node_modules${sep}`);
}

function mtimeOf(file: string): number | null {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat === undefined ? null : stat.mtimeMs;
}

function check(): void {
  if (reloading) return;
  for (const [file, seen] of files) {
    const now = mtimeOf(file);
    // A file that vanished (an editor's save-by-rename in progress) is not a change yet.
    if (now === null) continue;
    if (seen === null || now !== seen) {
      files.set(file, now);
      void reload(`${file} modified`);
      return;
    }
  }
  for (const directory of directories) {
    for (const file of listDirectory(directory)) {
      if (!files.has(file)) {
        addFile(file);
        void reload(`${file} added`);
        return;
      }
    }
  }
}

/**
 * @internal Run the hooks and re-execute (or, in a forked child, ask the primary to). Called
 * on a change, and in the primary when a child asks.
 */
export async function reload(reason: string): Promise<void> {
  if (reloading) return;
  reloading = true;
  genLog.info(`autoreload: ${reason}; restarting`);
  for (const hook of hooks) {
    try {
      await hook();
    } catch (error) {
      appLog.error('autoreload: a reload hook failed', error);
    }
  }
  if (cluster.isWorker) {
    // A child re-executing itself would lose its IPC channel: the primary stops it instead.
    const request: ReloadRequest = { typhoon: 'autoreload', reason };
    process.send?.(request);
    return;
  }
  if (isSupervising()) await stopChildren();
  reexecute();
}

setReloadRequestHandler((reason) => void reload(reason));

// The launcher next to this file: launcher.ts when running from source, launcher.js built.
const launcher = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './launcher.ts' : './launcher.js', import.meta.url),
);

function reexecute(): void {
  const args = [...process.execArgv, launcher, ...process.argv.slice(1)];
  // execve runs no exit handlers: write the compile cache the launcher enabled now.
  nodeModule.flushCompileCache();
  if (typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, ...args], process.env);
  }
  // No execve (Windows, or a runtime without it): a replacement with the same stdio.
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  child.once('spawn', () => process.exit(0));
  child.once('error', (error) => {
    appLog.error('autoreload: could not start the replacement process', error);
    process.exit(1);
  });
}

/** The files of `directory` and below (no hidden ones, no node_modules), bounded. */
function listDirectory(directory: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (out.length >= MAX_DIRECTORY_FILES) return;
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = `${dir}${sep}${entry.name}`;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(directory);
  return out;
}

// `import … from 'x'`, `import 'x'`, `export … from 'x'`, `import('x')`. A regular
// expression, not a parser: a commented-out import adds a file to watch, which is harmless.
const IMPORT_PATTERN =
  /(?:^|[^.\w$])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?(['"])([^'"\n]+)\1|(?:^|[^.\w$])import\s*\(\s*(['"])([^'"\n]+)\3\s*\)/g;

/** @internal The main module and every file it reaches through relative static imports. */
export function staticImportGraph(main: string): string[] {
  const seen = new Set<string>();
  const pending = [main];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file) || isExcluded(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const match of text.matchAll(IMPORT_PATTERN)) {
      const specifier = match[2] ?? match[4];
      if (specifier === undefined) continue;
      const target = localTarget(specifier, file);
      if (target !== null && !seen.has(target)) pending.push(target);
    }
  }
  return [...seen];
}

// A specifier that names a file of the app (relative, absolute, file:), as a path; null for a
// package or a builtin.
function localTarget(specifier: string, from: string): string | null {
  let target: string;
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    target = resolve(dirname(from), specifier);
  } else if (specifier.startsWith('file:')) {
    try {
      target = fileURLToPath(specifier);
    } catch {
      return null;
    }
  } else if (isAbsolute(specifier)) {
    target = specifier;
  } else return null;
  // Query strings and fragments do not name another file.
  target = target.replace(/[?#].*$/, '');
  try {
    return existsSync(target) && statSync(target).isFile() ? target : null;
  } catch {
    return null;
  }
}

/** @internal The main module's URL, for the launcher. */
export function mainUrl(main: string): string {
  return pathToFileURL(resolve(main)).href;
}
