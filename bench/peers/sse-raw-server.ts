/**
 * The raw peer of the scale benchmark: `node:cluster` with P workers, each a bare `node:http`
 * server holding Server-Sent Events responses in a Set, and a hand-written Redis pub/sub
 * subscriber (RESP over one socket per worker) that encodes each message once and writes the
 * same bytes to every response. One shared heartbeat timer per worker, like a careful
 * hand-written server. No history, no positions, no resume: the floor a framework is measured
 * against.
 *
 * A published message's payload is the event's data; the event id is a counter the worker
 * keeps.
 *
 * Usage: `node --expose-gc bench/peers/sse-raw-server.ts PORT PROCESSES REDIS_PORT CHANNEL`
 * → every worker prints `worker PID` once it listens and its subscription is confirmed.
 * `SIGUSR2` makes a worker collect garbage.
 */
import cluster from 'node:cluster';
import * as http from 'node:http';
import * as net from 'node:net';
import { collectGarbage, exitWithParent } from './child.ts';

const [, , portArg = '0', processesArg = '1', redisPort = '6379', channel = 'bench'] = process.argv;
const HEARTBEAT_MS = 15_000;
const HEARTBEAT = Buffer.from(':\n');

if (cluster.isPrimary) {
  exitWithParent();
  for (let i = 0; i < Number(processesArg); i++) cluster.fork();
  cluster.on('exit', () => process.exit(1));
} else {
  const clients = new Set<http.ServerResponse>();
  let eventId = 0;
  let wrote = false;

  const broadcast = (bytes: Buffer): void => {
    wrote = true;
    for (const res of clients) res.write(bytes);
  };
  setInterval(() => {
    if (!wrote) broadcast(HEARTBEAT);
    wrote = false;
  }, HEARTBEAT_MS).unref();

  // RESP reader for pub/sub pushes: *3 $7 message $<n> channel $<n> payload.
  let pending: Buffer = Buffer.alloc(0);
  const readBulk = (buf: Buffer, at: number): [Buffer, number] | null => {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return null;
    const size = Number(buf.toString('latin1', at + 1, eol));
    const end = eol + 2 + size;
    if (buf.length < end + 2) return null;
    return [buf.subarray(eol + 2, end), end + 2];
  };
  let subscribed: () => void;
  const ready = new Promise<void>((resolve) => (subscribed = resolve));
  const redis = net.connect(Number(redisPort), '127.0.0.1');
  redis.on('connect', () => redis.write(`SUBSCRIBE ${channel}\r\n`));
  redis.on('error', (error) => {
    console.error(`redis: ${error.message}`);
    process.exit(1);
  });
  redis.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    while (at < pending.length) {
      const eol = pending.indexOf('\r\n', at);
      if (eol < 0 || pending[at] !== 0x2a /* '*' */) break;
      const items = Number(pending.toString('latin1', at + 1, eol));
      let cursor = eol + 2;
      const parts: Buffer[] = [];
      for (let i = 0; i < items; i++) {
        if (pending[cursor] === 0x3a /* ':' integer */) {
          const end = pending.indexOf('\r\n', cursor);
          if (end < 0) break;
          parts.push(pending.subarray(cursor + 1, end));
          cursor = end + 2;
          continue;
        }
        const bulk = readBulk(pending, cursor);
        if (bulk === null) break;
        parts.push(bulk[0]);
        cursor = bulk[1];
      }
      if (parts.length < items) break;
      at = cursor;
      const kind = parts[0]!.toString('latin1');
      if (kind === 'subscribe') subscribed();
      else if (kind === 'message') {
        // Encoded once, written to every client.
        broadcast(Buffer.from(`id: ${++eventId}\ndata: ${parts[2]!.toString('utf8')}\n\n`));
      }
    }
    pending = at >= pending.length ? Buffer.alloc(0) : pending.subarray(at);
  });

  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/events/')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  process.on('SIGUSR2', () => {
    collectGarbage();
    const m = process.memoryUsage();
    process.stdout.write(`heap ${process.pid} ${m.heapUsed} ${m.external} ${m.rss}\n`);
  });
  await ready;
  server.listen(Number(portArg), '127.0.0.1', () => {
    process.stdout.write(`worker ${process.pid}\n`);
  });
}
