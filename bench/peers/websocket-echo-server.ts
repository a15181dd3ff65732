/**
 * WebSocket echo servers for bench/websocket.bench.ts, run as child processes:
 * `node bench/peers/websocket-echo-server.ts PORT typhoon` serves a typhoon `WebSocketHandler`
 * at `/echo` inside an `Application`; `... PORT ws` serves a raw `ws` `WebSocketServer` on a
 * bare node:http server — the floor typhoon's handler adds its handshake path, hooks and
 * per-message Future to. Both echo every message back with its type (text or binary), and
 * neither compresses. Prints `listening PORT`.
 */
import * as http from 'node:http';
import { WebSocketServer } from 'ws';
import { configureLogging } from '../../src/log.ts';
import { Application } from '../../src/web/index.ts';
import { WebSocketHandler, type WebSocketMessage } from '../../src/websocket/index.ts';
import { announce, exitWithParent, portArgument } from './child.ts';

configureLogging({ level: 'warning' });

class EchoHandler extends WebSocketHandler {
  override onMessage(message: WebSocketMessage): void {
    void this.writeMessage(message, { binary: typeof message !== 'string' });
  }
}

const port = portArgument();
const kind = process.argv[3] ?? 'typhoon';
if (kind === 'typhoon') {
  const server = await new Application([['/echo', EchoHandler]]).listen(port, '127.0.0.1');
  announce(server.address()!.port);
} else if (kind === 'ws') {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, path: '/echo', perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  announce((server.address() as { port: number }).port);
} else {
  console.error(`unknown server kind ${kind}`);
  process.exit(2);
}
exitWithParent();
