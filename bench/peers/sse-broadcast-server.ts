/**
 * One process holding Server-Sent Events streams and broadcasting a message to all of them
 * for each line it reads on stdin: the measured side of `bench/instructions.ts sse:KIND`.
 *
 * - `typhoon`: `Application` + the handler of bench/peers/sse-handler.ts (the scale
 *   benchmark's) streaming a `MemoryBroker` channel; a line publishes.
 * - `raw`: bare `node:http` keeping each response in a Set; a line encodes one event and
 *   writes the same bytes to every response.
 *
 * Usage: `node bench/peers/sse-broadcast-server.ts PORT KIND` → prints `listening PORT`; exits
 * when stdin ends.
 */
import { rawEventStreams } from './sse-raw-streams.ts';
import type * as net from 'node:net';
import { createInterface } from 'node:readline';
import { announce, portArgument } from './child.ts';

const kind = process.argv[3] ?? 'typhoon';
let broadcast: (k: number) => void;
let port: number;

if (kind === 'raw') {
  const raw = await rawEventStreams(portArgument());
  const clients = raw.clients;
  port = raw.port;
  broadcast = (k) => {
    const bytes = Buffer.from(`id: ${k}\ndata: ${JSON.stringify({ k })}\n\n`);
    for (const res of clients) res.write(bytes);
  };
} else if (kind === 'typhoon') {
  const { MemoryBroker } = await import('../../src/broker/index.ts');
  const { configureLogging } = await import('../../src/log.ts');
  const { Application } = await import('../../src/web/index.ts');
  const { brokerEvents } = await import('./sse-handler.ts');
  configureLogging({ level: 'warning' });
  const broker = new MemoryBroker();
  const app = new Application([['/events/([^/]+)', brokerEvents(broker)]]);
  const server = await app.listen(portArgument(), '127.0.0.1');
  port = (server.address() as net.AddressInfo).port;
  broadcast = (k) => void broker.publish('room', { k });
} else {
  throw new Error(`unknown kind ${kind}`);
}

let k = 0;
createInterface({ input: process.stdin }).on('line', () => broadcast(++k));
process.stdin.on('end', () => process.exit(0));
announce(port);
