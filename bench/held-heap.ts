/**
 * V8 heap per held Server-Sent Events stream, in one process: the figure that tells where the
 * scale benchmark's memory goes, in seconds instead of minutes, and steady enough (±10 bytes
 * between runs) to see a change of 50 bytes.
 *
 * A server child (run with `--expose-gc`) holds N idle streams opened by this process over
 * loopback; after a full GC it reports `heapUsed`, and (heapUsed with N − heapUsed after a
 * warm-up with none) / N is printed. Contenders:
 * - `typhoon` — `Application` + the scale benchmark's handler (bench/peers/sse-handler.ts)
 *   streaming a `MemoryBroker` channel from `Last-Event-ID`;
 * - `handler` — the same handler holding the request without a broker stream;
 * - `raw` — bare `node:http` keeping each `ServerResponse` in a Set.
 *
 * Usage: `node bench/held-heap.ts [typhoon|handler|raw]... [--n 3000] [--snapshot PREFIX]`
 * (`--snapshot` also writes PREFIX-CONTENDER-{0,1}.heapsnapshot before and after). Not a
 * `.bench.ts`: it measures memory, not speed, and `npm run bench` does not run it.
 */
import { fork } from 'node:child_process';
import * as net from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import { fileURLToPath } from 'node:url';

type Contender = 'typhoon' | 'handler' | 'raw';
interface Ask {
  cmd: 'heap' | 'snapshot';
  path?: string;
}

if (process.argv[2] === '--serve') await serve(process.argv[3] as Contender);
else await main();

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  let n = 3000;
  let snapshot: string | undefined;
  const contenders: Contender[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--n') n = Number(args[++i]);
    else if (arg === '--snapshot') snapshot = args[++i];
    else if (arg === 'typhoon' || arg === 'handler' || arg === 'raw') contenders.push(arg);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(n) || n < 1 || n > 15_000) throw new RangeError('--n is 1..15000');
  for (const contender of contenders.length > 0 ? contenders : (['typhoon', 'raw'] as const)) {
    const perStream = await measure(contender, n, snapshot);
    console.log(`${contender}: ${perStream.toFixed(0)} B of V8 heap per held stream (N = ${n})`);
  }
}

async function measure(contender: Contender, n: number, snapshot?: string): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', contender], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  try {
    const ask = (message: Ask): Promise<{ heap: number }> =>
      new Promise((resolve) => {
        child.once('message', resolve as (m: unknown) => void);
        child.send(message);
      });
    const { port } = await new Promise<{ port: number }>((resolve) =>
      child.once('message', resolve as (m: unknown) => void),
    );
    // Warm-up: every code path compiled and every lazily made shared object made.
    for (const socket of await openMany(port, 200)) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = (await ask({ cmd: 'heap' })).heap;
    if (snapshot !== undefined) await ask({ cmd: 'snapshot', path: `${snapshot}-${contender}-0` });
    const held = await openMany(port, n);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = (await ask({ cmd: 'heap' })).heap;
    if (snapshot !== undefined) await ask({ cmd: 'snapshot', path: `${snapshot}-${contender}-1` });
    for (const socket of held) socket.destroy();
    return (after - before) / n;
  } finally {
    child.kill();
  }
}

/** Open `count` streams, 200 at a time, from 127.0.0.2–127.0.0.9; resolve once all have headers. */
async function openMany(port: number, count: number): Promise<net.Socket[]> {
  const open = (i: number): Promise<net.Socket> =>
    new Promise((resolve, reject) => {
      const socket = net.connect({
        port,
        host: '127.0.0.1',
        localAddress: `127.0.0.${2 + (i % 8)}`,
      });
      let head = '';
      const onData = (chunk: Buffer): void => {
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        resolve(socket);
      };
      socket.on('error', reject);
      socket.on('data', onData);
      socket.on('connect', () =>
        socket.write('GET /events/room HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n'),
      );
    });
  const sockets: net.Socket[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from({ length: Math.min(200, count - i) }, (_, j) => open(i + j));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function serve(contender: Contender): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  process.on('message', (message: Ask) => {
    gc();
    gc();
    if (message.cmd === 'snapshot') writeHeapSnapshot(`${message.path}.heapsnapshot`);
    process.send!({ heap: process.memoryUsage().heapUsed });
  });
  process.on('disconnect', () => process.exit(0));
  let port: number;
  if (contender === 'raw') {
    const { rawEventStreams } = await import('./peers/sse-raw-streams.ts');
    port = (await rawEventStreams(0)).port;
  } else {
    const { MemoryBroker } = await import('../src/broker/index.ts');
    const { configureLogging } = await import('../src/log.ts');
    const { Application, EventSourceHandler } = await import('../src/web/index.ts');
    const { brokerEvents } = await import('./peers/sse-handler.ts');
    configureLogging({ level: 'warning' });
    // `handler`: the request held with its headers out, and no broker stream.
    class Held extends EventSourceHandler {
      override async get(): Promise<void> {
        await this.flush();
        await new Promise<void>(() => {}); // held until the process ends
      }
    }
    const Events = contender === 'handler' ? Held : brokerEvents(new MemoryBroker());
    const app = new Application([['/events/([^/]+)', Events]]);
    const server = await app.listen(0, '127.0.0.1');
    port = (server.address() as net.AddressInfo).port;
  }
  process.send!({ port });
}
