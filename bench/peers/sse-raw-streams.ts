/**
 * The raw peer of the one-process SSE benchmarks (held-heap, the `sse` instruction scenario):
 * bare `node:http` answering each request with event-stream headers and keeping the response
 * in a Set until its client leaves. No typhoon module is loaded.
 */
import * as http from 'node:http';
import type * as net from 'node:net';

/** Listen on `port` of 127.0.0.1; resolves with the port and the open responses. */
export async function rawEventStreams(
  port: number,
): Promise<{ port: number; clients: Set<http.ServerResponse> }> {
  const clients = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    clients.add(res);
    req.on('close', () => clients.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, clients };
}
