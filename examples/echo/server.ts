/**
 * A line-based echo server: every line a client sends comes straight back. The smallest
 * useful `TCPServer`: one coroutine per connection, reading lines and writing them back.
 *
 * Run it: `node examples/echo/server.ts [port]` (default 8888), then
 * `node examples/echo/client.ts [port] hello world` or `nc 127.0.0.1 8888`.
 * Tornado: the `TCPServer` example in `tornado.tcpserver`'s documentation.
 */
import {
  TCPServer,
  UnsatisfiableReadError,
  type IOStream,
  type StreamAddress,
} from '../../src/index.ts';

/** Longest line accepted; a longer one closes the connection (UnsatisfiableReadError). */
export const MAX_LINE = 64 * 1024;

/** Echoes each `\n`-terminated line back to its sender. */
export class EchoServer extends TCPServer {
  override async handleStream(stream: IOStream, _address: StreamAddress): Promise<void> {
    stream.setNodelay(true);
    // When the client hangs up, the pending read fails with StreamClosedError; TCPServer
    // treats that as the normal end of the connection.
    try {
      for (;;) {
        const line = await stream.readUntil('\n', { maxBytes: MAX_LINE });
        await stream.write(line);
      }
    } catch (error) {
      // A line past MAX_LINE: the stream has closed itself; that client simply goes away.
      if (!(error instanceof UnsatisfiableReadError)) throw error;
    }
  }
}

if (import.meta.filename === process.argv[1]) {
  const port = Number(process.argv[2] ?? 8888);
  const server = new EchoServer();
  const bound = await server.listen(port, '127.0.0.1');
  console.log(`echo server listening on 127.0.0.1:${bound}`);
  process.on('SIGINT', () => {
    server.stop();
    process.exit(0);
  });
}
