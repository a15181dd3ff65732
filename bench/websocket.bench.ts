/**
 * WebSocket echo round-trips per second with 64 concurrent clients: a typhoon
 * `WebSocketHandler` (in an `Application`, behind typhoon's `HTTPServer` upgrade path) vs a raw
 * `ws` `WebSocketServer` on node:http — the library typhoon's handler is built on, so the
 * ratio is the cost of typhoon's layer (hooks, queueing, a Future per `writeMessage`).
 *
 * Each server runs in its own child process (started fresh for the benchmark, kept across
 * rounds); the load generator is this process: 64 `ws` clients, each sending a 32-byte text
 * message and waiting for its echo before sending the next, for `sampleMs`. A sample is the
 * total number of completed round-trips divided by the elapsed time, with the server's CPU
 * time per round-trip beside it (steadier while other work shares the cores). Every echo is
 * checked.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { Bench, BenchFactory } from './harness.ts';
import { cpuMsOf } from './peers/spawn.ts';

const CLIENTS = 64;
const MESSAGE = 'x'.repeat(32);
const serverScript = fileURLToPath(new URL('./peers/websocket-echo-server.ts', import.meta.url));

interface EchoServer {
  port: number;
  /** CPU time the server process has used, in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

async function startServer(kind: 'typhoon' | 'ws'): Promise<EchoServer> {
  const child = spawn(process.execPath, [serverScript, '0', kind], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.add(child);
  child.stdin!.on('error', () => {});
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${kind} echo server did not start`)), 20_000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} echo server exited with ${code}`));
    });
  });
  return {
    port,
    cpuMs: () => cpuMsOf(child.pid!),
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      child.kill('SIGKILL');
      await exited;
      children.delete(child);
    },
  };
}

function connect(port: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/echo`, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** A crowd of clients bouncing one message each off the server, counting round-trips. */
class Crowd {
  readonly clients: WebSocket[];
  constructor(clients: WebSocket[]) {
    this.clients = clients;
    for (const ws of clients) ws.on('error', () => {});
  }

  static async open(port: number): Promise<Crowd> {
    const clients: WebSocket[] = [];
    for (let i = 0; i < CLIENTS; i++) clients.push(await connect(port));
    return new Crowd(clients);
  }

  /** Round-trips over `ms`: how many, and how many per second. */
  run(ms: number): Promise<{ count: number; rate: number }> {
    return new Promise((resolve, reject) => {
      let count = 0;
      let running = true;
      let active = this.clients.length;
      const started = performance.now();
      const finish = () => {
        if (--active === 0)
          resolve({ count, rate: (count * 1000) / (performance.now() - started) });
      };
      for (const ws of this.clients) {
        const onMessage = (data: Buffer, isBinary: boolean) => {
          if (isBinary || data.length !== MESSAGE.length) {
            running = false;
            reject(new Error(`bad echo: ${data.length} bytes, binary ${isBinary}`));
            return;
          }
          count++;
          if (running) ws.send(MESSAGE);
          else {
            ws.off('message', onMessage);
            finish();
          }
        };
        ws.on('message', onMessage);
        ws.send(MESSAGE);
      }
      setTimeout(() => (running = false), ms);
    });
  }

  close(): void {
    for (const ws of this.clients) ws.terminate();
  }
}

const factory: BenchFactory = ({ smoke, sampleMs }) => {
  const state: Partial<Record<'typhoon' | 'ws', { server: EchoServer; crowd: Crowd }>> = {};
  const measure = (kind: 'typhoon' | 'ws') => async () => {
    const entry = state[kind]!;
    const cpuBefore = entry.server.cpuMs();
    const { count, rate } = await entry.crowd.run(sampleMs);
    return { value: rate, cpuUsPerOp: ((entry.server.cpuMs() - cpuBefore) * 1000) / count };
  };
  const bench: Bench = {
    name: `WebSocket echo, ${CLIENTS} clients, 32-byte text messages`,
    unit: 'round-trips/s',
    higherIsBetter: true,
    target: 'typhoon >= 0.7x raw ws',
    rounds: smoke ? 1 : 11,
    async setup() {
      for (const kind of ['typhoon', 'ws'] as const) {
        const server = await startServer(kind);
        const crowd = await Crowd.open(server.port);
        await crowd.run(smoke ? 50 : 500); // warm-up: JIT on both sides
        state[kind] = { server, crowd };
      }
    },
    async teardown() {
      for (const entry of Object.values(state)) {
        entry.crowd.close();
        await entry.server.stop();
      }
    },
    contenders: [
      { name: 'typhoon WebSocketHandler', measure: measure('typhoon') },
      { name: 'raw ws WebSocketServer', measure: measure('ws') },
    ],
  };
  return [bench];
};

export default factory;
