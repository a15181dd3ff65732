/**
 * The echo server's client: connect, send each message as a line, read each echo back.
 *
 * Run it: `node examples/echo/client.ts [port] message...` (default port 8888).
 * Tornado: `tornado.tcpclient.TCPClient`.
 */
import { TCPClient } from '../../src/index.ts';

/** Send `messages` one line each to the echo server at `host:port`; resolve with the echoes. */
export async function echo(host: string, port: number, messages: string[]): Promise<string[]> {
  const stream = await new TCPClient().connect(host, port, { timeout: 5000 });
  try {
    const replies: string[] = [];
    for (const message of messages) {
      await stream.write(`${message}\n`);
      const line = await stream.readUntil('\n');
      replies.push(line.toString('utf8', 0, line.length - 1));
    }
    return replies;
  } finally {
    stream.close();
  }
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 8888);
  const messages = process.argv.slice(3);
  for (const reply of await echo('127.0.0.1', port, messages.length ? messages : ['hello'])) {
    console.log(reply);
  }
}
