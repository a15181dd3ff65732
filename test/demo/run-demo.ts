// Runs demo/chat/server.ts as a real program (one process or a fleet under forkProcesses),
// collects what it prints, and stops it: SIGTERM to the primary (the way an operator stops a
// fleet), then SIGKILL by PID to anything — primary or child — still alive after a grace time.
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../demo/chat/server.ts', import.meta.url));

export interface RunningDemo {
  readonly child: ChildProcess;
  /** Everything printed so far (stdout and stderr), line by line. */
  readonly lines: string[];
  /** PIDs of the serving processes (from their start lines; the primary's alone when one). */
  readonly pids: number[];
  /** Resolve once `predicate(lines)` holds; fail after `timeoutMs` with what was printed. */
  waitFor(predicate: (lines: string[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** The exit: code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait up to `graceMs` for the exit, then SIGKILL every PID still alive. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start the demo with `args`; `processes` start lines are awaited (0: do not wait). */
export async function runDemo(args: string[], processes = 1): Promise<RunningDemo> {
  // Not a test process: node:test marks its children with NODE_TEST_CONTEXT, and cluster's
  // children that inherit it report to a test runner instead of running the demo.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, [SERVER, '--logging=warning', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  const lines: string[] = [];
  const pids: number[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      rest += chunk;
      let end: number;
      while ((end = rest.indexOf('\n')) !== -1) {
        const line = rest.slice(0, end);
        rest = rest.slice(end + 1);
        lines.push(line);
        const pid = /^typhoon chat demo: .*pid (\d+)\)$/.exec(line);
        if (pid) pids.push(Number(pid[1]));
      }
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => (done = true));
  const waitFor = async (
    predicate: (lines: string[]) => boolean,
    what: string,
    timeoutMs = 20_000,
  ): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(lines)) {
      if (Date.now() > deadline || (done && !predicate(lines))) {
        throw new Error(`demo: no ${what}; it printed:\n${lines.join('\n')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const running: RunningDemo = {
    child,
    lines,
    pids,
    waitFor,
    exited,
    async stop(graceMs = 10_000) {
      if (!done && child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      const timer = new Promise<null>((resolve) => setTimeout(() => resolve(null), graceMs));
      const result = await Promise.race([exited, timer]);
      for (const pid of [child.pid, ...pids]) {
        if (pid === undefined) continue;
        try {
          process.kill(pid, 'SIGKILL'); // a process that did not stop in time
        } catch {
          // already gone: the normal case
        }
      }
      return result ?? (await exited);
    },
  };
  if (processes > 0) {
    try {
      await waitFor(
        (l) => l.filter((line) => line.startsWith('typhoon chat demo: http')).length >= processes,
        `${processes} start line(s)`,
        // Generous: on a loaded 2-core machine, 3 children compiling the sources took 24 s.
        60_000,
      );
    } catch (error) {
      await running.stop(0);
      throw error;
    }
  }
  return running;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request on a new connection (`agent: false`), so that each lands on whichever process
 * cluster's round-robin hands that connection to.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
