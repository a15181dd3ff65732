import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  addAcceptHandler,
  bindSockets,
  bindUnixSocket,
  DefaultResolver,
  isValidIp,
  sslOptionsToContext,
  type StreamAddress,
} from '../src/netutil.ts';

const fixtures = new URL('./fixtures/tls/', import.meta.url);

function portOf(server: net.Server): number {
  return (server.address() as net.AddressInfo).port;
}

function closeAll(servers: net.Server[]): void {
  for (const server of servers) server.close();
}

describe('bindSockets', () => {
  test('binds one listening socket on a literal address, port 0 picking a free port', async () => {
    const servers = await bindSockets(0, '127.0.0.1');
    assert.equal(servers.length, 1);
    assert.equal((servers[0]!.address() as net.AddressInfo).address, '127.0.0.1');
    assert.ok(portOf(servers[0]!) > 0);
    const socket = net.connect(portOf(servers[0]!), '127.0.0.1');
    await once(socket, 'connect');
    socket.destroy();
    closeAll(servers);
  });

  test('binds every address of a name, all on the same port', async () => {
    const servers = await bindSockets(0, 'localhost');
    const addresses = (await new DefaultResolver().resolve('localhost', 0)).map((a) => a.address);
    assert.equal(servers.length, new Set(addresses).size);
    assert.equal(new Set(servers.map(portOf)).size, 1);
    closeAll(servers);
  });

  test('without an address it listens on all interfaces', async () => {
    const servers = await bindSockets(0);
    assert.equal(servers.length, 1);
    const bound = (servers[0]!.address() as net.AddressInfo).address;
    assert.ok(bound === '::' || bound === '0.0.0.0', bound);
    const socket = net.connect(portOf(servers[0]!), '127.0.0.1');
    await once(socket, 'connect');
    socket.destroy();
    closeAll(servers);
  });

  test('family narrows the addresses bound', async () => {
    const servers = await bindSockets(0, 'localhost', { family: 4 });
    assert.deepEqual(
      servers.map((s) => (s.address() as net.AddressInfo).family),
      ['IPv4'],
    );
    closeAll(servers);
  });

  test('a port in use fails with EADDRINUSE and leaves nothing bound', async () => {
    const [taken] = await bindSockets(0, '127.0.0.1');
    const before = process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    await assert.rejects(bindSockets(portOf(taken!), '127.0.0.1'), { code: 'EADDRINUSE' });
    const count = () =>
      process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    for (let i = 0; i < 100 && count() > before; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(count() <= before, `${count()} listening handles, ${before} before`);
    taken!.close();
  });

  test('a bad port is a RangeError', async () => {
    await assert.rejects(bindSockets(-1, '127.0.0.1'), RangeError);
    await assert.rejects(bindSockets(65536, '127.0.0.1'), RangeError);
    await assert.rejects(bindSockets(1.5, '127.0.0.1'), RangeError);
  });
});

describe('bindUnixSocket', () => {
  test('creates an owner-only socket, replacing a stale one but never a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'typhoon-'));
    try {
      const path = join(dir, 's.sock');
      const first = await bindUnixSocket(path);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      // Simulate a crashed process: the file stays while nothing listens.
      const stale = net.createServer();
      await new Promise<void>((resolve) => first.close(() => resolve()));
      await new Promise<void>((resolve) => stale.listen(join(dir, 'x.sock'), resolve));
      const second = await bindUnixSocket(join(dir, 'x.sock'), { mode: 0o660 });
      assert.equal(statSync(join(dir, 'x.sock')).mode & 0o777, 0o660);
      second.close();
      const file = join(dir, 'regular');
      writeFileSync(file, 'data');
      await assert.rejects(bindUnixSocket(file), { code: 'EEXIST' });
      assert.ok(existsSync(file));
      stale.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('addAcceptHandler', () => {
  test('calls back per connection with the peer address until removed', async () => {
    const [server] = await bindSockets(0, '127.0.0.1');
    const seen: StreamAddress[] = [];
    const remove = addAcceptHandler(server!, (socket, address) => {
      seen.push(address);
      socket.end('bye\n');
    });
    const client = net.connect(portOf(server!), '127.0.0.1');
    client.resume();
    await once(client, 'end');
    assert.deepEqual(seen, [{ address: '127.0.0.1', port: client.localPort, family: 'IPv4' }]);
    remove();
    assert.equal(server!.listenerCount('connection'), 0);
    client.destroy();
    server!.close();
  });
});

describe('isValidIp', () => {
  test('accepts literal addresses only', () => {
    for (const ip of [
      '127.0.0.1',
      '::1',
      '4.4.4.4',
      '2620:0:1cfe:face:b00c::3',
      '::ffff:1.2.3.4',
    ]) {
      assert.equal(isValidIp(ip), true, ip);
    }
    for (const ip of [
      '',
      'localhost',
      '127.0.0.1\x00',
      '1.2.3',
      '256.0.0.1',
      'www.google.com',
      ':::',
    ]) {
      assert.equal(isValidIp(ip), false, JSON.stringify(ip));
    }
  });
});

describe('sslOptionsToContext', () => {
  test('builds a SecureContext once and passes one through unchanged', () => {
    const context = sslOptionsToContext({
      key: readFileSync(new URL('key.pem', fixtures)),
      cert: readFileSync(new URL('cert.pem', fixtures)),
    });
    assert.ok(context.context !== undefined);
    assert.equal(sslOptionsToContext(context), context);
    assert.ok(sslOptionsToContext({}) instanceof context.constructor);
    assert.ok(tls.createSecureContext({}) instanceof context.constructor);
  });
});

describe('DefaultResolver', () => {
  test('resolves names and literals with the port attached; unknown names reject', async () => {
    const resolver = new DefaultResolver();
    const local = await resolver.resolve('localhost', 80, 4);
    assert.deepEqual(local, [{ family: 4, address: '127.0.0.1', port: 80 }]);
    assert.deepEqual(await resolver.resolve('::1', 8080), [
      { family: 6, address: '::1', port: 8080 },
    ]);
    await assert.rejects(resolver.resolve('no-such-host.invalid', 1), { code: 'ENOTFOUND' });
  });
});
