/**
 * A WebSocket echo server and a client that talks to it — Tornado's `EchoWebSocket` example
 * in typhoon.
 *
 * The server answers every text message with `You said: …` and binary messages with the same
 * bytes; the client connects, sends a few messages, prints the answers and closes:
 *
 *     WebSocket opened
 *     You said: Hello, world
 *     You said: typhoon
 *     <Buffer 01 02 03>
 *     WebSocket closed (1000 bye)
 *
 * Run it: `node examples/websocket/echo.ts` (serves on a free port, runs the client, stops).
 * `node examples/websocket/echo.ts 8888` keeps serving on port 8888 for a browser:
 * `new WebSocket('ws://localhost:8888/websocket')`.
 * Tornado: `tornado.websocket.WebSocketHandler` docstring example, `websocket_connect`.
 */
import type { HTTPServer } from '../../src/httpserver/index.ts';
import { Application } from '../../src/web/index.ts';
import {
  WebSocketHandler,
  websocketConnect,
  type WebSocketMessage,
} from '../../src/websocket/index.ts';

/** Echoes text with a prefix and binary as it came. */
export class EchoWebSocket extends WebSocketHandler {
  /** Lines the server printed, for whoever runs it (the test reads them). */
  static log: (line: string) => void = (line) => console.log(line);

  override open(): void {
    EchoWebSocket.log('WebSocket opened');
  }

  override onMessage(message: WebSocketMessage): void {
    if (typeof message === 'string') void this.writeMessage(`You said: ${message}`);
    else void this.writeMessage(message, { binary: true });
  }

  override onClose(): void {
    EchoWebSocket.log(`WebSocket closed (${this.closeCode} ${this.closeReason})`);
  }
}

/** The application: the echo socket at `/websocket`. */
export function makeApp(): Application {
  return new Application([['/websocket', EchoWebSocket]]);
}

/**
 * Connect to `url`, send a few messages, return the answers (each also given to `onAnswer`
 * as it arrives), then close with 1000 "bye".
 */
export async function runClient(
  url: string,
  onAnswer: (answer: WebSocketMessage) => void = () => {},
): Promise<WebSocketMessage[]> {
  const conn = await websocketConnect(url);
  const answers: WebSocketMessage[] = [];
  const ask = async (message: string | Buffer) => {
    await conn.writeMessage(message, { binary: typeof message !== 'string' });
    const answer = (await conn.readMessage())!;
    answers.push(answer);
    onAnswer(answer);
  };
  await ask('Hello, world');
  await ask('typhoon');
  await ask(Buffer.from([1, 2, 3]));
  conn.close(1000, 'bye');
  await conn.readMessage(); // null: the close handshake is done
  return answers;
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 0);
  const server: HTTPServer = await makeApp().listen(port, '127.0.0.1');
  const bound = server.address()!.port;
  if (port !== 0) {
    console.log(`Serving ws://127.0.0.1:${bound}/websocket (Ctrl-C to stop)`);
  } else {
    await runClient(`ws://127.0.0.1:${bound}/websocket`, (answer) => console.log(answer));
    await server.stop({ drainTimeout: 1000 });
  }
}
