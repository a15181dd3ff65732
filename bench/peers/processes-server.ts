/**
 * Multi-process hello-world servers for bench/processes.bench.ts, one script for all kinds so
 * they serve the same bytes:
 * - `typhoon`: `forkProcesses(N)` and an `Application`, as a user writes it (the children
 *   share the port the way typhoon sets them up: each binds it with `reusePort`).
 * - `cluster`: `node:cluster` with N raw node:http workers, cluster's default round-robin.
 * - `reuseport`: the same raw workers, each listening with `reusePort` (SO_REUSEPORT: the
 *   kernel spreads connections by a hash of the address pair; Node ≥ 22.12).
 *
 * Routes: `/hello` → `Hello, world`; `/id` → the worker's index.
 * Usage: `node bench/peers/processes-server.ts KIND N PORT` → each worker prints
 * `listening ID`. The primary exits when its stdin closes, and its workers with it.
 */
import cluster from 'node:cluster';
import * as http from 'node:http';
import { exitWithParent } from './child.ts';

const [kind = 'typhoon', nText = '2', portText = '0'] = process.argv.slice(2);
const n = Number(nText);
const port = Number(portText);

if (cluster.isPrimary) exitWithParent();

if (kind === 'typhoon') {
  const { forkProcesses } = await import('../../src/process/index.ts');
  const { configureLogging } = await import('../../src/log.ts');
  const { Application, RequestHandler } = await import('../../src/web/index.ts');
  configureLogging({ level: 'warning' });
  const id = await forkProcesses(n);
  class HelloHandler extends RequestHandler {
    override get(): void {
      this.setHeader('Content-Type', 'text/plain; charset=UTF-8');
      this.write('Hello, world');
    }
  }
  class IdHandler extends RequestHandler {
    override get(): void {
      this.write(String(id));
    }
  }
  const app = new Application([
    ['/hello', HelloHandler],
    ['/id', IdHandler],
  ]);
  await app.listen(port, '127.0.0.1');
  process.stdout.write(`listening ${id}\n`);
} else if (cluster.isPrimary) {
  for (let id = 0; id < n; id++) cluster.fork({ BENCH_WORKER_ID: String(id) });
} else {
  const id = process.env.BENCH_WORKER_ID ?? '?';
  const hello = Buffer.from('Hello, world');
  const idBody = Buffer.from(id);
  const server = http.createServer((request, response) => {
    const body = request.url === '/id' ? idBody : hello;
    response.writeHead(200, {
      'Content-Type': 'text/plain; charset=UTF-8',
      'Content-Length': body.length,
    });
    response.end(body);
  });
  server.listen({ port, host: '127.0.0.1', reusePort: kind === 'reuseport' }, () => {
    process.stdout.write(`listening ${id}\n`);
  });
}
