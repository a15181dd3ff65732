/**
 * Instructions per request, message or await, counted by `valgrind --tool=callgrind`: the one
 * measurement that does not move when other work shares the cores. Each scenario runs the
 * measured process under callgrind twice, with N and with 2N operations after the same warm-up,
 * and reports (I(2N) − I(N)) / N, so start-up, warm-up and JIT compilation cancel out. Only
 * user-space instructions are counted (the kernel's share, equal on both sides, is left out).
 *
 * Usage: `node bench/instructions.ts SCENARIO... [--n 4000]`, scenarios:
 * - `await:future`, `await:promise` — await an already-resolved placeholder;
 * - `life:future`, `life:promise` — create, resolve and await one;
 * - `multi:future`, `multi:promise` — `multi` (or `Promise.all`) over 100 pending children;
 * - `http:PEER:ENDPOINT` with PEER typhoon | node:http | fastify and ENDPOINT hello | json |
 *   echo — the server under callgrind, the load (one keep-alive connection) from this process;
 * - `ws:typhoon`, `ws:ws` — a WebSocket echo server under callgrind, one client here;
 * - `sse:typhoon`, `sse:raw` — a server holding 100 Server-Sent Events streams under callgrind
 *   broadcasts one message at a time to all of them (the next once every client has the
 *   last); the count is per delivery (per broadcast ÷ 100);
 * - `client:typhoon`, `client:undici` — the HTTP client under callgrind, one request at a time against
 *   a node:http server in a child process. `CG_CONNECTIONS=64` runs 64 in flight (the
 *   benchmark's case), but that count is not repeatable: two runs of one typhoon tree gave
 *   1,099,172 and 1,018 instructions per request (how many responses a turn batches varies).
 * Not a `.bench.ts`: `npm run bench` does not run it (a run takes minutes under valgrind).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPeer, type PeerKind } from './peers/spawn.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
// One connection, one request or message in flight: each one is then a turn of the event
// loop of its own. With several, how many a turn batches depends on timing, and the count
// per request wandered by ±15 % between runs of the same code. CG_CONNECTIONS overrides.
const CONNECTIONS = Number(process.env.CG_CONNECTIONS ?? 1);
// Operations before the measured ones. CG_WARMUP overrides (see the HTTP rows in RESULTS.md).
const WARMUP = Number(process.env.CG_WARMUP ?? 3000);

/** Spawn `args` under callgrind; resolves with the child and a reader of its total. */
function underCallgrind(args: string[]): { child: ChildProcess; total: () => Promise<number> } {
  const out = join(tmpdir(), `typhoon-cg-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const child = spawn(
    'valgrind',
    // One thread: V8's background compiler and GC helpers make the count wander otherwise.
    [
      '--tool=callgrind',
      `--callgrind-out-file=${out}`,
      process.execPath,
      '--single-threaded',
      '--predictable',
      ...args,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 65_536) stderr += d.toString();
  });
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    child,
    total: async () => {
      const code = await exited;
      try {
        const text = readFileSync(out, 'latin1');
        const match = /^(?:summary|totals): (\d+)/m.exec(text);
        if (!match) throw new Error(`no total in callgrind output (exit ${code})\n${stderr}`);
        return Number(match[1]);
      } finally {
        rmSync(out, { force: true });
      }
    },
  };
}

/** Wait for `listening PORT` on a child's stdout. */
function portOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      text += chunk;
      const match = /listening (\d+)/.exec(text);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited (${code}) before listening`)));
  });
}

/** Send `count` requests over `CONNECTIONS` keep-alive sockets, one in flight per socket. */
async function httpLoad(port: number, request: Buffer, count: number): Promise<void> {
  let left = count;
  await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1');
          let buffered = '';
          const next = () => {
            if (left <= 0) {
              socket.end();
              resolve();
              return;
            }
            left--;
            socket.write(request);
          };
          socket.setEncoding('latin1');
          socket.on('connect', next);
          socket.on('error', reject);
          socket.on('data', (chunk: string) => {
            buffered += chunk;
            for (;;) {
              const head = buffered.indexOf('\r\n\r\n');
              if (head < 0) return;
              const length = /content-length: *(\d+)/i.exec(buffered.slice(0, head));
              if (!length) return reject(new Error(`no Content-Length: ${buffered.slice(0, 200)}`));
              const end = head + 4 + Number(length[1]);
              if (buffered.length < end) return;
              if (!buffered.startsWith('HTTP/1.1 200')) {
                return reject(new Error(`bad answer: ${buffered.slice(0, 200)}`));
              }
              buffered = buffered.slice(end);
              next();
            }
          });
        }),
    ),
  );
}

const ECHO = 'x'.repeat(1024);
const REQUESTS: Record<string, Buffer> = {
  hello: Buffer.from('GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
  json: Buffer.from('GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'),
  echo: Buffer.from(
    'POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n' +
      `Content-Length: ${ECHO.length}\r\n\r\n${ECHO}`,
  ),
};

const PEER_SCRIPTS: Record<string, string> = {
  typhoon: 'typhoon-server.ts',
  'node:http': 'node-http-server.ts',
  fastify: 'fastify-server.ts',
};

async function httpRun(peer: string, endpoint: string, n: number): Promise<number> {
  const request = REQUESTS[endpoint];
  const script = PEER_SCRIPTS[peer];
  if (!request || !script) throw new Error(`unknown http scenario ${peer}:${endpoint}`);
  const run = underCallgrind([join(here, 'peers', script), '0']);
  const port = await portOf(run.child);
  await httpLoad(port, request, WARMUP + n);
  run.child.stdin!.end();
  return run.total();
}

async function wsRun(kind: string, n: number): Promise<number> {
  const { WebSocket } = await import('ws');
  const run = underCallgrind([join(here, 'peers', 'websocket-echo-server.ts'), '0', kind]);
  const port = await portOf(run.child);
  const clients = await Promise.all(
    Array.from(
      { length: CONNECTIONS },
      () =>
        new Promise<InstanceType<typeof WebSocket>>((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  let left = WARMUP + n;
  const message = 'x'.repeat(32);
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('message', () => {
            if (left-- > 0) ws.send(message);
            else resolve();
          });
          left--;
          ws.send(message);
        }),
    ),
  );
  for (const ws of clients) ws.terminate();
  run.child.stdin!.end();
  return run.total();
}

const SSE_STREAMS = 100;

async function sseRun(kind: string, n: number): Promise<number> {
  const run = underCallgrind([join(here, 'peers', 'sse-broadcast-server.ts'), '0', kind]);
  const port = await portOf(run.child);
  // Every client counts the events it has read (an event ends with a blank line).
  const counts = new Array<number>(SSE_STREAMS).fill(0);
  let wake: (() => void) | null = null;
  const sockets = await Promise.all(
    Array.from(
      { length: SSE_STREAMS },
      (_, i) =>
        new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(port, '127.0.0.1');
          let head = true;
          let tail = '';
          socket.setEncoding('latin1');
          socket.on('error', reject);
          socket.on('data', (text: string) => {
            tail += text;
            if (head) {
              const end = tail.indexOf('\r\n\r\n');
              if (end < 0) return;
              head = false;
              tail = tail.slice(end + 4);
              resolve(socket);
            }
            let at: number;
            while ((at = tail.indexOf('\n\n')) >= 0) {
              tail = tail.slice(at + 2);
              counts[i]!++;
            }
            wake?.();
          });
          socket.on('connect', () =>
            socket.write(
              'GET /events/room HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n',
            ),
          );
        }),
    ),
  );
  const total = Math.ceil(WARMUP / 10) + n;
  for (let k = 1; k <= total; k++) {
    run.child.stdin!.write('\n');
    while (counts.some((c) => c < k)) {
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  }
  for (const socket of sockets) socket.destroy();
  run.child.stdin!.end();
  return (await run.total()) / SSE_STREAMS;
}

async function clientRun(kind: string, n: number): Promise<number> {
  const server = await startPeer('node:http' as PeerKind);
  try {
    const run = underCallgrind([
      fileURLToPath(import.meta.url),
      '--child',
      `client:${kind}`,
      String(WARMUP + n),
      String(server.port),
    ]);
    return await run.total();
  } finally {
    await server.stop();
  }
}

async function inProcessRun(scenario: string, n: number): Promise<number> {
  const run = underCallgrind([
    fileURLToPath(import.meta.url),
    '--child',
    scenario,
    String(WARMUP * 10 + n),
  ]);
  return run.total();
}

/** The measured side of the in-process and client scenarios. */
async function child(scenario: string, count: number, port: number): Promise<void> {
  if (scenario === 'await:future' || scenario === 'await:promise') {
    const { resolvedFuture } = await import('../src/concurrent.ts');
    const value = scenario === 'await:future' ? resolvedFuture(1) : Promise.resolve(1);
    let sum = 0;
    for (let i = 0; i < count; i++) sum += await value;
    if (sum !== count) throw new Error('wrong sum');
  } else if (scenario === 'life:future') {
    const { Future } = await import('../src/concurrent.ts');
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const f = new Future<number>();
      f.setResult(1);
      sum += await f;
    }
    if (sum !== count) throw new Error('wrong sum');
  } else if (scenario === 'life:promise') {
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const { promise, resolve } = Promise.withResolvers<number>();
      resolve(1);
      sum += await promise;
    }
    if (sum !== count) throw new Error('wrong sum');
  } else if (scenario === 'multi:future' || scenario === 'multi:promise') {
    // `multi` over 100 pending children, resolved after the wait has started (per op: one
    // wait, 100 children created and resolved).
    const { Future } = await import('../src/concurrent.ts');
    const { multi } = await import('../src/gen.ts');
    const typhoon = scenario === 'multi:future';
    let sum = 0;
    for (let i = 0; i < count; i++) {
      if (typhoon) {
        const children = Array.from({ length: 100 }, () => new Future<number>());
        const all = multi(children);
        for (const child of children) child.setResult(1);
        for (const value of await all) sum += value;
      } else {
        const children = Array.from({ length: 100 }, () => Promise.withResolvers<number>());
        const all = Promise.all(children.map((c) => c.promise));
        for (const child of children) child.resolve(1);
        for (const value of await all) sum += value;
      }
    }
    if (sum !== count * 100) throw new Error('wrong sum');
  } else if (scenario === 'client:typhoon' || scenario === 'client:undici') {
    let one: () => Promise<unknown>;
    let close: () => Promise<void>;
    const url = `http://127.0.0.1:${port}/hello`;
    if (scenario === 'client:typhoon') {
      const { AsyncHTTPClient } = await import('../src/httpclient/index.ts');
      const client = new AsyncHTTPClient({ forceInstance: true, maxClients: CONNECTIONS });
      one = () => client.fetch(url);
      close = () => client.close();
    } else {
      const { Pool } = await import('undici');
      const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS });
      one = async () => {
        const { body } = await pool.request({ path: '/hello', method: 'GET' });
        await body.arrayBuffer();
      };
      close = () => pool.close();
    }
    let left = count;
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (left-- > 0) await one();
      }),
    );
    await close();
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
}

async function measure(scenario: string, n: number): Promise<number> {
  const parts = scenario.split(':');
  const kind = parts[0];
  const once = (count: number): Promise<number> => {
    // `http:node:http:echo`: the peer's own name may hold a colon.
    if (kind === 'http') return httpRun(parts.slice(1, -1).join(':'), parts.at(-1)!, count);
    if (kind === 'ws') return wsRun(parts[1]!, count);
    if (kind === 'sse') return sseRun(parts[1]!, count);
    if (kind === 'client') return clientRun(parts[1]!, count);
    return inProcessRun(scenario, count);
  };
  const small = await once(n);
  const large = await once(2 * n);
  return (large - small) / n;
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  await child(argv[1]!, Number(argv[2]), Number(argv[3] ?? 0));
} else {
  let n = 4000;
  const scenarios: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--n') n = Number(argv[++i]);
    else scenarios.push(argv[i]!);
  }
  for (const scenario of scenarios) {
    const perOp = await measure(
      scenario,
      scenario.includes(':') && /^(await|life)/.test(scenario) ? n * 5 : n,
    );
    console.log(`${scenario}\t${Math.round(perOp).toLocaleString('en-US')} instructions per op`);
  }
}
