// A real redis-server for tests: Debian's binary started on a free port of 127.0.0.1 with the
// arguments a test needs (persistence off by default), waited for until it answers PING,
// killed or restarted by PID. Where the binary is missing, `redisMissing()` says why so the
// test can skip with that reason.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let binary: string | null | undefined;

/** Path of redis-server, or null when it is not on PATH. */
export function redisServerBinary(): string | null {
  if (binary === undefined) {
    const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
    binary = found.status === 0 ? found.stdout.trim() || null : null;
  }
  return binary;
}

/** Why Redis tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  return redisServerBinary() === null
    ? 'redis-server is not on PATH (apt-get install redis-server)'
    : undefined;
}

/** A free TCP port on 127.0.0.1 (nothing listens on it when this resolves). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Send PING on a fresh connection; true when Redis answers +PONG. */
export function ping(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

/** Send one inline command and return the raw reply's first line (for FLUSHALL, CONFIG…). */
export function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.on('error', reject);
    socket.on('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.slice(0, reply.indexOf('\r\n')));
      }
    });
  });
}

/** One raw connection for several inline commands in a row (each resolves with its first line). */
export async function session(
  port: number,
): Promise<{ send(line: string): Promise<string>; close(): void }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffered = '';
  const waiting: Array<(line: string) => void> = [];
  socket.on('data', (chunk) => {
    buffered += chunk.toString('latin1');
    let end: number;
    while ((end = buffered.indexOf('\r\n')) !== -1 && waiting.length > 0) {
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      waiting.shift()?.(line);
    }
  });
  return {
    send(line) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        socket.write(`${line}\r\n`);
      });
    },
    close() {
      socket.destroy();
    },
  };
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The data directory (AOF files live here). */
  readonly dir: string;
  /** PID of the running server, or null while stopped. */
  readonly pid: number | null;
  /** SIGKILL the server by PID (a crash: nothing flushed beyond what its fsync policy did). */
  kill(): Promise<void>;
  /** Start it again on the same port with the same arguments and data directory. */
  restart(): Promise<void>;
  /** Stop the server and remove its data directory. */
  close(): Promise<void>;
}

/**
 * Start redis-server on a free port. `args` are extra command-line options, e.g.
 * `['--appendonly', 'yes', '--appendfsync', 'always']`; by default nothing is persisted.
 */
export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const bin = redisServerBinary();
  if (bin === null) throw new Error(redisMissing());
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'typhoon-redis-'));
  const argv = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--daemonize',
    'no',
    '--protected-mode',
    'no',
    '--loglevel',
    'warning',
    ...args,
  ];
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const launch = async (): Promise<void> => {
    const proc = spawn(bin, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child = proc;
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${stderr}`);
      if (await ping(port, 200)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${stderr}`);
  };

  const kill = async (): Promise<void> => {
    const proc = child as ChildProcess | null;
    if (proc === null) return;
    child = null;
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      process.kill(proc.pid, 'SIGKILL');
    }
    await exited;
  };

  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return (child as ChildProcess | null)?.pid ?? null;
    },
    kill,
    async restart() {
      await kill();
      await launch();
    },
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
