import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { TCPClient } from '../src/tcpclient.ts';
import { TCPServer } from '../src/tcpserver.ts';
import type { IOStream } from '../src/iostream/index.ts';
import { bindSockets, DefaultResolver, type StreamAddress } from '../src/netutil.ts';
import { ConnectError, TimeoutError } from '../src/errors.ts';
import { bindUnusedPort } from '../src/testing.ts';
import { until } from './helpers/wait.ts';

const fixtures = new URL('./fixtures/tls/', import.meta.url);
const ca = readFileSync(new URL('ca.pem', fixtures));
const cert = readFileSync(new URL('cert.pem', fixtures));
const key = readFileSync(new URL('key.pem', fixtures));

class Echo extends TCPServer {
  seen: StreamAddress[] = [];
  override async handleStream(stream: IOStream, address: StreamAddress): Promise<void> {
    this.seen.push(address);
    for (;;) await stream.write(await stream.readUntil('\n'));
  }
}

function openTcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

async function roundTrip(stream: IOStream, text: string): Promise<string> {
  await stream.write(`${text}\n`);
  return (await stream.readUntil('\n')).toString().trimEnd();
}

async function ipv6Loopback(): Promise<string | null> {
  try {
    const [server] = await bindSockets(0, '::1');
    server?.close();
    return null;
  } catch (error) {
    return `IPv6 loopback (::1) not available: ${(error as Error).message}`;
  }
}

describe('TCPClient.connect', () => {
  test('connects over IPv4 and returns a working IOStream', async (t) => {
    const server = new Echo();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const stream = await new TCPClient().connect('127.0.0.1', port);
    assert.equal(await roundTrip(stream, 'v4'), 'v4');
    assert.equal(stream.socket.remoteFamily, 'IPv4');
    stream.close();
  });

  test('connects over IPv6 to ::1', async (t) => {
    const reason = await ipv6Loopback();
    if (reason !== null) {
      console.log(`skipping: ${reason}`);
      t.skip(reason);
      return;
    }
    const server = new Echo();
    const port = await server.listen(0, '::1');
    t.after(() => server.stop());
    const stream = await new TCPClient().connect('::1', port);
    assert.equal(await roundTrip(stream, 'v6'), 'v6');
    assert.equal(server.seen[0]?.family, 'IPv6');
    assert.equal(server.seen[0]?.address, '::1');
    stream.close();
  });

  test('the family option picks the address family of a name with both', async (t) => {
    const families = new Set(
      (await new DefaultResolver().resolve('localhost', 0)).map((a) => a.family),
    );
    const reason =
      (await ipv6Loopback()) ??
      (families.size < 2 ? 'localhost does not resolve to both 127.0.0.1 and ::1 here' : null);
    if (reason !== null) {
      console.log(`skipping: ${reason}`);
      t.skip(reason);
      return;
    }
    const server = new Echo();
    const port = await server.listen(0, 'localhost');
    t.after(() => server.stop());
    const v6 = await new TCPClient().connect('localhost', port, { family: 6 });
    const v4 = await new TCPClient().connect('localhost', port, { family: 4 });
    assert.equal(v6.socket.remoteFamily, 'IPv6');
    assert.equal(v4.socket.remoteFamily, 'IPv4');
    assert.equal(await roundTrip(v6, 'six'), 'six');
    assert.equal(await roundTrip(v4, 'four'), 'four');
    v6.close();
    v4.close();
  });

  test('sourceIp and sourcePort choose the local end', async (t) => {
    const server = new Echo();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const { server: probe, port: freePort } = await bindUnusedPort();
    await new Promise((resolve) => probe.close(resolve));
    const stream = await new TCPClient().connect('127.0.0.1', port, {
      sourceIp: '127.0.0.1',
      sourcePort: freePort,
    });
    assert.equal(await roundTrip(stream, 'from'), 'from');
    assert.deepEqual(server.seen[0], { address: '127.0.0.1', port: freePort, family: 'IPv4' });
    stream.close();
  });

  test('a closed port fails with ConnectError (cause ECONNREFUSED) and leaks no socket', async () => {
    const { server, port } = await bindUnusedPort();
    await new Promise((resolve) => server.close(resolve));
    const before = openTcpSockets();
    const error = await new TCPClient().connect('127.0.0.1', port).then(
      () => assert.fail('connect should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectError);
    assert.equal((error.cause as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    await until(() => openTcpSockets() <= before);
  });

  test('past its timeout the connect fails with ConnectError (cause TimeoutError), no leak', async () => {
    // A server that accepts but never speaks: the TLS handshake can never complete.
    const accepted: net.Socket[] = [];
    const silent = net.createServer((socket) => accepted.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const before = openTcpSockets();
    const started = performance.now();
    const error = await new TCPClient()
      .connect('127.0.0.1', port, { timeout: 150, sslOptions: { ca, servername: 'localhost' } })
      .then(
        () => assert.fail('connect should time out'),
        (e: unknown) => e,
      );
    const elapsed = performance.now() - started;
    assert.ok(error instanceof ConnectError);
    assert.ok(error.cause instanceof TimeoutError);
    assert.match(error.message, /timed out after 150 ms/);
    assert.ok(elapsed >= 140, `gave up after ${elapsed} ms`);
    await until(() => openTcpSockets() <= before + accepted.length);
    for (const socket of accepted) socket.destroy();
    silent.close();
  });

  test('a connect that succeeds in time clears its timer', async (t) => {
    const server = new Echo();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const stream = await new TCPClient().connect('127.0.0.1', port, { timeout: 100 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(stream.closed(), false);
    assert.equal(await roundTrip(stream, 'alive'), 'alive');
    stream.close();
  });

  test('sslOptions: TLS with a trusted CA works; an untrusted certificate is a ConnectError', async (t) => {
    const server = new Echo({ sslOptions: { key, cert } });
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const client = new TCPClient();
    const stream = await client.connect('localhost', port, { sslOptions: { ca }, family: 4 });
    assert.equal(await roundTrip(stream, 'tls'), 'tls');
    stream.close();
    const error = await client.connect('localhost', port, { sslOptions: {}, family: 4 }).then(
      () => assert.fail('connect should fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectError);
    assert.match(String((error.cause as Error).message), /certificate/i);
    client.close();
  });
});
