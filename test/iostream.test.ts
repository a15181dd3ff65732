import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { IOStream } from '../src/iostream/index.ts';
import {
  ConnectError,
  InvalidStateError,
  StreamBufferFullError,
  StreamClosedError,
  UnsatisfiableReadError,
} from '../src/errors.ts';
import { bindUnusedPort } from '../src/testing.ts';
import {
  iostreamContract,
  type PairOptions,
  type StreamPair,
} from './contracts/iostream.contract.ts';
import { until } from './helpers/wait.ts';

const fixtures = new URL('./fixtures/tls/', import.meta.url);
const ca = readFileSync(new URL('ca.pem', fixtures));
const cert = readFileSync(new URL('cert.pem', fixtures));
const key = readFileSync(new URL('key.pem', fixtures));

async function tcpSockets(): Promise<{ client: net.Socket; server: net.Socket }> {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await once(client, 'connect');
  const [server] = await accepted;
  listener.close();
  return { client, server };
}

async function tcpPair(options: PairOptions = {}): Promise<StreamPair> {
  const { client, server } = await tcpSockets();
  return finishPair(new IOStream(client, options.client), new IOStream(server, options.server));
}

async function tlsPair(options: PairOptions = {}): Promise<StreamPair> {
  const listener = tls.createServer({ key, cert });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'secureConnection') as Promise<[tls.TLSSocket]>;
  const client = tls.connect({
    port: (listener.address() as net.AddressInfo).port,
    host: '127.0.0.1',
    ca,
    servername: 'localhost',
  });
  await once(client, 'secureConnect');
  const [server] = await accepted;
  listener.close();
  return finishPair(new IOStream(client, options.client), new IOStream(server, options.server));
}

function finishPair(client: IOStream, server: IOStream): StreamPair {
  return {
    client,
    server,
    async close() {
      client.close();
      server.close();
      await until(() => client.socket.destroyed && server.socket.destroyed);
    },
  };
}

iostreamContract('TCP', tcpPair);
iostreamContract('TLS', tlsPair);

function openTcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

describe('IOStream.connect', () => {
  test('connects an unconnected socket and resolves with the stream', async () => {
    const { server, port } = await bindUnusedPort();
    const accepted = once(server, 'connection') as Promise<[net.Socket]>;
    const stream = new IOStream(new net.Socket());
    const connected = stream.connect(port, '127.0.0.1');
    // A write issued before the connection completes waits for it.
    const early = stream.write('early\n');
    assert.equal(await connected, stream);
    await early;
    const [peer] = await accepted;
    const peerStream = new IOStream(peer);
    assert.equal((await peerStream.readUntil('\n')).toString(), 'early\n');
    stream.close();
    peerStream.close();
    server.close();
  });

  test('a refused connection fails with ConnectError, the stream closes and no socket leaks', async () => {
    const { server, port } = await bindUnusedPort();
    await new Promise((resolve) => server.close(resolve));
    const before = openTcpSockets();
    const stream = new IOStream(new net.Socket());
    let closedCallback = false;
    stream.setCloseCallback(() => (closedCallback = true));
    const error = await stream.connect(port, '127.0.0.1').then(
      () => assert.fail('connect should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectError);
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal(stream.closed(), true);
    await until(() => closedCallback && openTcpSockets() <= before);
    await assert.rejects(stream.connect(port, '127.0.0.1'), ConnectError);
  });
});

describe('IOStream over plain TCP', () => {
  test('a reset by the peer fails the pending read with realError set', async () => {
    const { client, server } = await tcpSockets();
    const stream = new IOStream(server);
    const read = stream.readUntil('\n');
    client.resetAndDestroy();
    const error = await read.then(
      () => assert.fail('read should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof StreamClosedError);
    assert.equal((error.realError as NodeJS.ErrnoException | undefined)?.code, 'ECONNRESET');
    assert.equal(error.cause, error.realError);
    assert.equal(stream.closed(), true);
  });

  test('wrapping an already destroyed socket gives a closed stream', async () => {
    const { client, server } = await tcpSockets();
    client.destroy();
    const stream = new IOStream(client);
    assert.equal(stream.closed(), true);
    await assert.rejects(stream.write('x'), StreamClosedError);
    server.destroy();
  });

  test("the socket's own end handling still runs, through one listener; startTls gives it back", async () => {
    const nodeEnd = new net.Socket().listeners('end');
    assert.equal(nodeEnd.length, 1, "Node's sockets come with one end listener");
    const first = await tcpSockets();
    const stream = new IOStream(first.server);
    // One listener (ours, calling Node's), not an array of two.
    assert.equal(first.server.listenerCount('end'), 1);
    assert.notEqual(first.server.listeners('end')[0], nodeEnd[0]);
    const read = stream.readUntilClose();
    first.client.end('bye');
    assert.equal((await read).toString(), 'bye');
    assert.equal(stream.closed(), true);
    // Node's listener ran: without allowHalfOpen it replaces `write` with one that fails.
    assert.ok(Object.hasOwn(first.server, 'write'));
    first.client.destroy();

    const second = await tcpSockets();
    const plain = new IOStream(second.server);
    const upgraded = plain.startTls(true, { key, cert });
    assert.deepEqual(second.server.listeners('end'), nodeEnd);
    second.client.destroy();
    await assert.rejects(upgraded, StreamClosedError);
  });

  test('each stream keeps the limits it was created with, even from a reused options object', async () => {
    const options = { maxBufferSize: 8 };
    const small = await tcpSockets();
    const smallStream = new IOStream(small.server, options);
    options.maxBufferSize = 100;
    const large = await tcpSockets();
    const largeStream = new IOStream(large.server, options);
    const smallRead = smallStream.readUntil('\n');
    const largeRead = largeStream.readUntil('\n');
    small.client.write('x'.repeat(20));
    large.client.write('x'.repeat(20) + '\n');
    await assert.rejects(smallRead, StreamBufferFullError);
    assert.equal((await largeRead).length, 21);
    largeStream.close();
    small.client.destroy();
    large.client.destroy();
  });

  test('constructor options are validated', () => {
    assert.throws(() => new IOStream(new net.Socket(), { maxBufferSize: 0 }), RangeError);
    assert.throws(() => new IOStream(new net.Socket(), { maxWriteBufferSize: -1 }), RangeError);
  });

  test('a reader that keeps up is never cut off: small reads, a small maxBufferSize, a flood waiting', async () => {
    const { client, server } = await tcpSockets();
    const stream = new IOStream(server, { maxBufferSize: 1000 });
    // Far more than the buffer may hold, and than one socket read delivers.
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    client.write(payload);
    let received = 0;
    let mostBuffered = 0;
    while (received < payload.length) {
      const piece = await stream.readBytes(Math.min(100, payload.length - received));
      assert.ok(piece.equals(payload.subarray(received, received + piece.length)));
      received += piece.length;
      mostBuffered = Math.max(mostBuffered, stream.readBufferSize);
    }
    assert.equal(stream.closed(), false);
    // The socket was paused while the buffer held more than the reads asked for.
    assert.ok(mostBuffered <= 256 * 1024, `buffered ${mostBuffered} bytes`);
    stream.close();
    client.destroy();
  });

  test('while nothing reads, the socket is paused: the buffer stays bounded and the sender is held back', async () => {
    const { client, server } = await tcpSockets();
    const maxBufferSize = 64 * 1024;
    const stream = new IOStream(server, { maxBufferSize });
    try {
      const payload = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
      client.write(payload);
      let mostBuffered = 0;
      for (const started = Date.now(); Date.now() - started < 200;) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        mostBuffered = Math.max(mostBuffered, stream.readBufferSize);
      }
      assert.equal(stream.closed(), false);
      // The pause comes after the chunk that filled the buffer, so one more socket read's worth
      // (at most 64 KiB) may sit on top of the limit; without the pause it would be everything.
      assert.ok(mostBuffered <= 2 * maxBufferSize, `buffered ${mostBuffered} bytes`);
      // What the stream did not take waits in the kernel's windows, so the write is unfinished.
      assert.ok(client.writableLength > 0, 'the sender saw no backpressure');
      const received = Buffer.alloc(payload.length);
      let got = 0;
      while (got < payload.length) {
        const piece = await stream.readBytes(Math.min(16 * 1024, payload.length - got));
        piece.copy(received, got);
        got += piece.length;
      }
      assert.ok(received.equals(payload), 'every byte, in order');
      assert.equal(stream.closed(), false);
    } finally {
      stream.close();
      client.destroy();
    }
  });

  test('a delimiter straddling three small chunks is found', async () => {
    const { client, server } = await tcpSockets();
    client.setNoDelay(true);
    const c = new IOStream(client);
    const s = new IOStream(server);
    const read = s.readUntil('<<END>>');
    for (const piece of ['abc<', '<E', 'N', 'D>', '>tail']) {
      const before = s.readBufferSize;
      await c.write(piece);
      if (!read.done()) await until(() => read.done() || s.readBufferSize > before);
    }
    assert.equal((await read).toString(), 'abc<<END>>');
    assert.equal((await s.readBytes(4)).toString(), 'tail');
    c.close();
    s.close();
  });

  test('startTls upgrades both ends of a plain connection (STARTTLS)', async () => {
    const { client, server } = await tcpSockets();
    const c = new IOStream(client);
    const s = new IOStream(server);
    let movedCallback = 0;
    s.setCloseCallback(() => movedCallback++);
    await c.write('STARTTLS\n');
    assert.equal((await s.readUntil('\n')).toString(), 'STARTTLS\n');
    const [secureServer, secureClient] = await Promise.all([
      s.startTls(true, { key, cert }),
      c.startTls(false, { ca, servername: 'localhost' }),
    ]);
    assert.ok(secureServer.socket instanceof tls.TLSSocket);
    assert.equal(s.closed(), true, 'the plain stream is unusable afterwards');
    await assert.rejects(s.readBytes(1), StreamClosedError);
    await secureClient.write('secret\n');
    assert.equal((await secureServer.readUntil('\n')).toString(), 'secret\n');
    secureClient.close();
    await until(() => movedCallback === 1);
    secureServer.close();
  });

  test('startTls refuses a stream with pending I/O; a failed handshake rejects', async () => {
    const { client, server } = await tcpSockets();
    const c = new IOStream(client);
    const s = new IOStream(server);
    const pending = s.readBytes(1);
    await assert.rejects(s.startTls(true, { key, cert }), InvalidStateError);
    await c.write('x');
    await pending;
    // The client does not trust the server's certificate (no CA given).
    const [serverSide, clientSide] = await Promise.allSettled([
      s.startTls(true, { key, cert }),
      c.startTls(false, { servername: 'localhost' }),
    ]);
    assert.equal(clientSide.status, 'rejected');
    assert.ok(clientSide.reason instanceof StreamClosedError);
    assert.match(String(clientSide.reason.realError), /certificate/i);
    assert.equal(serverSide.status, 'rejected');
    assert.ok(serverSide.reason instanceof StreamClosedError);
  });
});

describe('IOStream write and read fast paths', () => {
  test('a write the socket takes at once is done at once; one behind a queued write waits', async () => {
    const pair = await tcpPair();
    const { client, server } = pair;
    try {
      const first = client.write('a');
      assert.equal(first.done(), true, 'an idle socket takes a small write at once');
      assert.equal(client.writing(), false);
      // Large enough that the kernel cannot take it at once while nobody reads.
      const big = client.write(Buffer.alloc(16 * 1024 * 1024, 1));
      const after = client.write('b');
      assert.equal(big.done(), false);
      assert.equal(after.done(), false, 'a write queued behind another is not done before it');
      assert.equal(client.writing(), true);
      const order: string[] = [];
      void big.then(() => order.push('big'));
      void after.then(() => order.push('after'));
      const all = await server.readBytes(1 + 16 * 1024 * 1024 + 1);
      assert.equal(all[0], 'a'.charCodeAt(0));
      assert.equal(all[all.length - 1], 'b'.charCodeAt(0));
      await after;
      assert.deepEqual(order, ['big', 'after']);
      assert.equal(client.writing(), false);
      // Once the queue has drained, small writes are done at once again, and a burst of them
      // (whose callbacks all arrive later) leaves the stream consistent.
      const burst = Array.from({ length: 1000 }, () => client.write('c'));
      assert.ok(burst.every((w) => w.done()));
      assert.equal((await server.readBytes(1000)).toString(), 'c'.repeat(1000));
      const queued = client.write(Buffer.alloc(16 * 1024 * 1024, 2));
      assert.equal(queued.done(), false);
      await server.readBytes(16 * 1024 * 1024);
      await queued;
      assert.equal(client.writing(), false);
    } finally {
      await pair.close();
    }
  });

  test('a write on a socket destroyed under the stream, or cut off halfway by the peer, fails', async () => {
    const { client: rawClient, server: rawServer } = await tcpSockets();
    const stream = new IOStream(rawClient);
    // Destroyed, but its close has not reached the stream yet: not a write the OS took.
    rawClient.destroy();
    await assert.rejects(stream.write('x'), StreamClosedError);
    rawServer.destroy();

    const pair = await tcpPair();
    try {
      // The peer reads nothing: the kernel takes a part, the rest waits in node.
      const big = pair.client.write(Buffer.alloc(16 * 1024 * 1024, 3));
      assert.equal(big.done(), false);
      pair.server.socket.resetAndDestroy();
      await assert.rejects(big, StreamClosedError);
    } finally {
      await pair.close();
    }
  });

  test('over TLS a write finishes after the call: it is done once the socket reports it', async () => {
    const pair = await tlsPair();
    try {
      const write = pair.client.write('over tls\n');
      assert.equal(write.done(), false, 'TLS hands the bytes over after write() returns');
      await write;
      assert.equal((await pair.server.readUntil('\n')).toString(), 'over tls\n');
    } finally {
      await pair.close();
    }
  });

  test('a chunk that is exactly the pending read is delivered whole; limits still apply', async () => {
    const pair = await tcpPair();
    const { client, server } = pair;
    try {
      const line = server.readUntil('\n');
      await client.write('one line\n');
      assert.equal((await line).toString(), 'one line\n');
      const bytes = server.readBytes(5);
      await client.write('12345');
      assert.equal((await bytes).toString(), '12345');
      const partial = server.readBytes(100, { partial: true });
      await client.write('short');
      assert.equal((await partial).toString(), 'short');
      // The delimiter ends the chunk, but the line is longer than maxBytes.
      const tooLong = server.readUntil('\n', { maxBytes: 4 });
      await client.write('12345\n');
      await assert.rejects(tooLong, UnsatisfiableReadError);
      assert.equal(server.closed(), true);
    } finally {
      await pair.close();
    }
  });
});
