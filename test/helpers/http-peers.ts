// Tiny HTTP peers on 127.0.0.1 for the client tests: a well-behaved node:http server and raw
// TCP servers that misbehave on purpose (slow drip, wrong Content-Length, closing mid-body,
// random bytes). Every peer counts its open sockets so tests can check the client leaks none,
// and close() destroys whatever is still open.
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A running test peer. */
export interface Peer {
  port: number;
  /** `http://127.0.0.1:port` + path. */
  url(path?: string): string;
  /** Sockets currently open on the server side. */
  openSockets(): number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

function track(
  server: net.Server,
  scheme: string,
): Omit<Peer, 'close'> & { close(): Promise<void> } {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  server.on('connection', (socket: net.Socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    url: (path = '/') => `${scheme}://127.0.0.1:${address.port}${path}`,
    openSockets: () => sockets.size,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function listen(server: net.Server): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** A node:http server running `handler`. */
export async function httpPeer(handler: http.RequestListener): Promise<Peer> {
  const server = http.createServer(handler);
  // The peer tracks sockets itself; don't let node keep idle ones past the test.
  server.keepAliveTimeout = 10_000;
  await listen(server);
  return track(server, 'http');
}

const tlsDir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
/** Paths of the test CA and the localhost certificate. */
export const TLS_FILES = {
  ca: `${tlsDir}ca.pem`,
  cert: `${tlsDir}cert.pem`,
  key: `${tlsDir}key.pem`,
};

/** A node:https server with the fixture certificate (signed by the fixture CA). */
export async function httpsPeer(handler: http.RequestListener): Promise<Peer> {
  const server = https.createServer(
    { cert: readFileSync(TLS_FILES.cert), key: readFileSync(TLS_FILES.key) },
    handler,
  );
  await listen(server);
  return track(server, 'https');
}

/**
 * A raw TCP peer: `onRequest(socket, head)` is called for each request head (up to the blank
 * line) that arrives on a connection.
 */
export async function rawPeer(
  onRequest: (socket: net.Socket, head: string) => void,
  scheme = 'http',
): Promise<Peer & { received: string[] }> {
  const received: string[] = [];
  const server = net.createServer((socket) => {
    // Each request head (bodies are not expected) is handed over as it completes, so a
    // kept-alive connection gets an answer per request.
    let buffered = '';
    socket.on('data', (data) => {
      buffered += data.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        received.push(head);
        onRequest(socket, head);
      }
    });
  });
  await listen(server);
  return Object.assign(track(server, scheme), { received });
}

/** A TCP peer that accepts connections and never says anything. */
export async function silentPeer(): Promise<Peer> {
  // Read (and drop) whatever arrives, so a client's FIN is seen and the socket closes.
  const server = net.createServer((socket) => socket.resume());
  await listen(server);
  return track(server, 'https');
}
