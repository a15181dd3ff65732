/**
 * The raw `node:http` peer: the baseline every typhoon HTTP number is compared with. No
 * framework, just the endpoints every peer serves:
 *
 * - `GET /hello` → `Hello, world`; `GET /json` → a small JSON document;
 *   `POST /echo` → the request body back;
 * - `GET /poll` → held until `POST /publish` (each waiter gets `{"message": …}`), the waiter
 *   dropped when its client goes away; `GET /stats` → `{"waiters": n}`;
 *   `POST /gc` → a full garbage collection (with `--expose-gc`) so RSS readings are comparable.
 *
 * Usage: `node bench/peers/node-http-server.ts PORT` → prints `listening PORT`
 * (`NODE_PEER_ASYNC_HOOKS=1`: with node:async_hooks loaded, see below).
 */
import * as http from 'node:http';
import { announce, collectGarbage, exitWithParent, JSON_DOC, portArgument } from './child.ts';

// Loading node:async_hooks makes node's own tick queue cheaper on Node 24 (see
// src/internal/context-frames.ts); typhoon and fastify load it. A raw server usually does
// not, so the peer does not by default; NODE_PEER_ASYNC_HOOKS=1 measures the peer with it.
if (process.env.NODE_PEER_ASYNC_HOOKS === '1') await import('node:async_hooks');

const HELLO = Buffer.from('Hello, world');
const waiters = new Set<http.ServerResponse>();

function send(res: http.ServerResponse, type: string, body: Buffer | string): void {
  res.writeHead(200, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/hello') {
    send(res, 'text/plain; charset=UTF-8', HELLO);
  } else if (req.method === 'GET' && url === '/json') {
    send(res, 'application/json; charset=UTF-8', JSON.stringify(JSON_DOC));
  } else if (req.method === 'POST' && url === '/echo') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => send(res, 'application/octet-stream', Buffer.concat(chunks)));
  } else if (req.method === 'GET' && url === '/poll') {
    waiters.add(res);
    // 'close' fires when the response finished or the client went away; either way it is
    // no longer waiting.
    res.on('close', () => waiters.delete(res));
  } else if (req.method === 'POST' && url === '/publish') {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ message: 'published' });
      const released = [...waiters];
      waiters.clear();
      for (const waiter of released) send(waiter, 'application/json; charset=UTF-8', body);
      send(res, 'application/json; charset=UTF-8', JSON.stringify({ released: released.length }));
    });
  } else if (req.method === 'GET' && url === '/stats') {
    send(res, 'application/json; charset=UTF-8', JSON.stringify({ waiters: waiters.size }));
  } else if (req.method === 'POST' && url === '/gc') {
    req.resume();
    collectGarbage();
    send(res, 'text/plain', 'ok');
  } else {
    res.writeHead(404).end();
  }
});
server.on('clientError', (_error, socket) => socket.destroy());

exitWithParent();
server.listen(portArgument(), '127.0.0.1', 511, () => {
  const address = server.address();
  announce(typeof address === 'object' && address ? address.port : 0);
});
