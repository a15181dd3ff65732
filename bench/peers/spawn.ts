/**
 * Start the benchmark peer servers as child processes, so a load generator never shares a
 * thread with the server it measures, and make sure none outlives the benchmark: every child
 * is killed when the parent exits (normally, by an exception or on SIGINT/SIGTERM), and each
 * child also exits by itself when its stdin pipe from the parent closes (see child.ts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The servers a benchmark can start. */
export type PeerKind = 'typhoon' | 'node:http' | 'fastify' | 'tornado';

/** A running peer server. */
export interface Peer {
  kind: PeerKind;
  port: number;
  pid: number;
  /** `http://127.0.0.1:PORT` + path. */
  url(path: string): string;
  /** The server process's resident set size in bytes, read from /proc. */
  rssBytes(): number;
  /** CPU time (user + system) the server process has used so far, in ms, read from /proc. */
  cpuMs(): number;
  /** Kill the server and wait for it to exit. */
  stop(): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const scripts: Record<PeerKind, string> = {
  typhoon: `${here}typhoon-server.ts`,
  'node:http': `${here}node-http-server.ts`,
  fastify: `${here}fastify-server.ts`,
  tornado: `${here}tornado_server.py`,
};

const live = new Set<ChildProcess>();
let hooksInstalled = false;

function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

let pythonCache: string | null | undefined;

/**
 * A Python 3 interpreter that can `import tornado` (Debian's python3-tornado lives in
 * /usr/bin/python3's path, which a pyenv shim earlier on PATH may hide), or null.
 */
export function tornadoPython(): string | null {
  if (pythonCache !== undefined) return pythonCache;
  pythonCache = null;
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    try {
      const version = execFileSync(
        candidate,
        ['-c', 'import tornado, sys; sys.stdout.write(tornado.version)'],
        { stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 },
      ).toString();
      if (/^6\./.test(version)) {
        pythonCache = candidate;
        break;
      }
    } catch {
      // try the next one
    }
  }
  return pythonCache;
}

/** Read a process's VmRSS from /proc, in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * A process's user + system CPU time in ms, from /proc/PID/stat (in clock ticks of 10 ms, the
 * Linux default `USER_HZ`). CPU per request is steadier than requests/s on a shared machine:
 * other tenants slow the server down but do not make each request cost more CPU.
 */
export function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name (which may contain spaces): utime and stime
  // are fields 14 and 15 of the whole line, so 12 and 13 here.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Start a peer server on a free port of 127.0.0.1 and wait for its `listening PORT` line. */
export async function startPeer(
  kind: PeerKind,
  options: { timeoutMs?: number } = {},
): Promise<Peer> {
  installHooks();
  let command: string;
  let args: string[];
  if (kind === 'tornado') {
    const python = tornadoPython();
    if (python === null) throw new Error('no python3 with tornado 6 found');
    command = python;
    args = [scripts.tornado, '0'];
  } else {
    // process.execPath is the pinned Node 24 binary itself, so the pid we hold is the server.
    command = process.execPath;
    args = ['--expose-gc', scripts[kind], '0'];
  }
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < 16_384) stderr += chunk;
  });
  // Never crash the benchmark because a child closed its stdin first.
  child.stdin!.on('error', () => {});

  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${kind} server did not start in time\n${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const match = /listening (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited (${code ?? signal}) before listening\n${stderr}`));
    });
  });

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    kind,
    port,
    pid: child.pid!,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    rssBytes: () => rssOf(child.pid!),
    cpuMs: () => cpuMsOf(child.pid!),
    async stop() {
      child.stdin!.end();
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Start several peers; if one fails, stop the ones already started and rethrow. */
export async function startPeers(kinds: PeerKind[]): Promise<Map<PeerKind, Peer>> {
  const peers = new Map<PeerKind, Peer>();
  try {
    for (const kind of kinds) peers.set(kind, await startPeer(kind));
  } catch (error) {
    await Promise.all([...peers.values()].map((p) => p.stop()));
    throw error;
  }
  return peers;
}
