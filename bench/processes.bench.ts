/**
 * Several processes on one port (issue 13): typhoon `forkProcesses` (whose children bind a
 * fixed port with `reusePort`, SO_REUSEPORT) against `node:cluster` with raw node:http
 * workers sharing the port through cluster's round-robin handle (Node's default), and the same
 * raw workers with `reusePort` — the two ways typhoon could share a port, measured to pick one.
 *
 * - Hello-world requests/s with 2 children (wrk, 64 keep-alive connections). Target: typhoon ≥
 *   0.95× node:cluster.
 * - How evenly 10,000 connections, opened and held at once, spread over 4 children: the
 *   busiest child's share over the mean (1.00 is perfectly even). Target: ≤ 1.15 (at 100,000
 *   connections over 6 processes the mean is 16,667 and a process may hold ~19,990).
 *
 * Each fleet runs as its own process tree (bench/peers/processes-server.ts); the load
 * generator runs in another process, the connection-spread client in this one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchFactory } from './harness.ts';
import { loadTool, runLoad } from './load.ts';

type Kind = 'typhoon' | 'cluster' | 'reuseport';
const LABEL: Record<Kind, string> = {
  typhoon: 'typhoon forkProcesses',
  cluster: 'node:cluster round-robin',
  reuseport: 'node:http reusePort',
};
const script = fileURLToPath(new URL('./peers/processes-server.ts', import.meta.url));

interface Fleet {
  port: number;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function startFleet(kind: Kind, workers: number): Promise<Fleet> {
  const port = await freePort();
  const child = spawn(process.execPath, [script, kind, String(workers), String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${kind}: not listening in 60 s\n${out}`)),
      60_000,
    );
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      if ((out.match(/^listening /gm) ?? []).length >= workers) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind}: exited with ${code}\n${out}`));
    });
  });
  return {
    port,
    async stop() {
      child.kill('SIGTERM');
      child.stdin!.end();
      await exited;
      live.delete(child);
    },
  };
}

/**
 * Open `total` connections (250 at a time), ask each which worker it reached, hold them all,
 * then close them. Returns the busiest worker's count over the mean.
 */
async function spread(port: number, workers: number, total: number): Promise<number> {
  const counts = new Map<string, number>();
  const sockets: net.Socket[] = [];
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      sockets.push(socket);
      let text = '';
      socket.setEncoding('latin1');
      socket.once('error', reject);
      socket.on('data', (chunk: string) => {
        text += chunk;
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? -1);
        if (length < 0 || text.length < end + 4 + length) return;
        const id = text.slice(end + 4, end + 4 + length);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        resolve();
      });
      socket.write('GET /id HTTP/1.1\r\nHost: bench\r\n\r\n');
    });
  try {
    for (let opened = 0; opened < total; opened += 250) {
      await Promise.all(Array.from({ length: Math.min(250, total - opened) }, one));
    }
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  const values = [...counts.values()];
  if (values.length !== workers) {
    throw new Error(`connections reached ${values.length} of ${workers} workers`);
  }
  const mean = total / workers;
  console.log(
    `>   spread over ${workers}: ${[...counts.entries()]
      .sort()
      .map(([id, count]) => `${id}: ${count}`)
      .join(', ')}`,
  );
  return Math.max(...values) / mean;
}

const factory: BenchFactory = ({ smoke }) => {
  const kinds: Kind[] = ['typhoon', 'cluster', 'reuseport'];
  const connections = smoke ? 1_000 : 10_000;
  // Smoke mode (CI) measures the spread on the 2-process fleets of the first benchmark, so
  // only three fleets start: on a busy machine each takes seconds.
  const spreadWorkers = smoke ? 2 : 4;
  console.log(
    `> load: ${loadTool()}, 1 thread, 64 keep-alive connections, 1 s per sample; ` +
      `spread: ${connections} connections held at once over ${spreadWorkers} workers.\n`,
  );
  const fleets = new Map<string, Fleet>();
  const start = async (workers: number): Promise<void> => {
    // Started together: each fleet's start-up is mostly Node loading modules, done in parallel.
    const started = await Promise.all(kinds.map((kind) => startFleet(kind, workers)));
    kinds.forEach((kind, i) => fleets.set(`${kind}/${workers}`, started[i]!));
  };
  const stop = async (workers: number): Promise<void> => {
    for (const kind of kinds) {
      await fleets.get(`${kind}/${workers}`)?.stop();
      fleets.delete(`${kind}/${workers}`);
    }
  };
  const hello: Bench = {
    name: 'hello-world with 2 processes',
    unit: 'req/s',
    higherIsBetter: true,
    baseline: LABEL.cluster,
    target: 'typhoon forkProcesses ≥ 0.95x node:cluster',
    contenders: kinds.map((kind) => ({
      name: LABEL[kind],
      measure: async () => {
        const fleet = fleets.get(`${kind}/2`)!;
        const result = await runLoad({
          url: `http://127.0.0.1:${fleet.port}/hello`,
          durationMs: 1000,
        });
        return result.requestsPerSec;
      },
    })),
    async setup() {
      await start(2);
      // One unmeasured run per fleet warms the JITs (skipped in smoke mode).
      if (!smoke) {
        for (const kind of kinds) {
          const fleet = fleets.get(`${kind}/2`)!;
          await runLoad({ url: `http://127.0.0.1:${fleet.port}/hello`, durationMs: 1000 });
        }
      }
    },
    teardown: () => (smoke ? undefined : stop(2)),
  };
  const evenness: Bench = {
    name: `spread of ${connections} connections over ${spreadWorkers} processes (busiest / mean)`,
    unit: 'max/mean',
    higherIsBetter: false,
    baseline: LABEL.cluster,
    target: 'busiest ≤ 1.15x the mean',
    rounds: smoke ? 1 : 5,
    contenders: kinds.map((kind) => ({
      name: LABEL[kind],
      measure: () =>
        spread(fleets.get(`${kind}/${spreadWorkers}`)!.port, spreadWorkers, connections),
    })),
    setup: () => (smoke ? undefined : start(4)),
    teardown: () => stop(spreadWorkers),
  };
  return [hello, evenness];
};

export default factory;
