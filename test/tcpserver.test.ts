import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { once } from 'node:events';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TCPServer, type TCPServerOptions } from '../src/tcpserver.ts';
import { IOStream } from '../src/iostream/index.ts';
import { bindUnixSocket, type StreamAddress } from '../src/netutil.ts';
import { StreamBufferFullError, StreamClosedError } from '../src/errors.ts';
import { addLogInterceptor, appLog, genLog, type LogRecord } from '../src/log.ts';
import { expectLog } from '../src/testing.ts';
import { until } from './helpers/wait.ts';

const fixtures = new URL('./fixtures/tls/', import.meta.url);
const ca = readFileSync(new URL('ca.pem', fixtures));
const cert = readFileSync(new URL('cert.pem', fixtures));
const key = readFileSync(new URL('key.pem', fixtures));

/** Echoes lines; remembers the addresses it saw and how its connections ended. */
class EchoServer extends TCPServer {
  addresses: StreamAddress[] = [];
  endings: unknown[] = [];
  constructor(options?: TCPServerOptions) {
    super(options);
  }
  override async handleStream(stream: IOStream, address: StreamAddress): Promise<void> {
    this.addresses.push(address);
    try {
      for (;;) {
        const line = await stream.readUntil('\n');
        if (line.toString() === 'boom\n') throw new Error('handler exploded');
        await stream.write(line);
      }
    } catch (error) {
      this.endings.push(error);
      throw error;
    }
  }
}

async function connect(port: number, host = '127.0.0.1'): Promise<IOStream> {
  const stream = new IOStream(new net.Socket());
  return stream.connect(port, host);
}

describe('TCPServer', () => {
  test('listen(0) picks a free port; handleStream gets the stream and the peer address', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    assert.ok(port > 0);
    const client = await connect(port);
    await client.write('hello\n');
    assert.equal((await client.readUntil('\n')).toString(), 'hello\n');
    assert.deepEqual(server.addresses, [
      { address: '127.0.0.1', port: client.socket.localPort, family: 'IPv4' },
    ]);
    client.close();
    // The peer going away mid-read is the normal end: no error is logged (the setup would fail
    // this test on an unclaimed error record).
    await until(() => server.endings.length === 1);
    assert.ok(server.endings[0] instanceof StreamClosedError);
  });

  test('an async exception in handleStream is logged and closes only that connection', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const healthy = await connect(port);
    const doomed = await connect(port);
    await expectLog(appLog, /Error in connection callback/, async () => {
      await doomed.write('boom\n');
      assert.equal((await doomed.readUntilClose()).length, 0);
      await until(() => doomed.closed());
    });
    await healthy.write('still here\n');
    assert.equal((await healthy.readUntil('\n')).toString(), 'still here\n');
    healthy.close();
  });

  test('an async failure after the peer has gone is logged with the peer address', async (t) => {
    // The server does not keep the address for this log: it reads it again from the closed
    // socket, which must still know it.
    class Grumpy extends TCPServer {
      override async handleStream(stream: IOStream): Promise<void> {
        await stream.readUntilClose();
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new RangeError('failed after close');
      }
    }
    const server = new Grumpy();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const records: LogRecord[] = [];
    const remove = addLogInterceptor((record) => {
      if (record.logger !== 'app') return false;
      records.push(record);
      return true;
    });
    let clientPort: number | undefined;
    try {
      const client = await connect(port);
      clientPort = client.socket.localPort;
      client.close();
      await until(() => records.length === 1);
    } finally {
      remove();
    }
    assert.equal(records[0]?.level, 'error');
    assert.equal(records[0]?.message, `Error in connection callback for 127.0.0.1:${clientPort}`);
    assert.match((records[0]?.error as Error).message, /failed after close/);
  });

  test('a synchronous exception in handleStream is logged with its stack', async (t) => {
    class Broken extends TCPServer {
      override handleStream(): void {
        throw new TypeError('sync failure');
      }
    }
    const server = new Broken();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const records: LogRecord[] = [];
    const remove = addLogInterceptor((record) => {
      if (record.logger !== 'app') return false;
      records.push(record);
      return true;
    });
    try {
      const client = await connect(port);
      await client.readUntilClose();
      assert.equal(client.closed(), true);
      await until(() => records.length === 1);
    } finally {
      remove();
    }
    assert.equal(records[0]?.level, 'error');
    assert.match(records[0]?.message ?? '', /Error in connection callback for 127\.0\.0\.1:\d+/);
    assert.match(
      (records[0]?.error as Error).stack ?? '',
      /sync failure\n\s+at Broken\.handleStream/,
    );
  });

  test('stop() refuses new connections while existing ones carry on', async (t) => {
    const server = new EchoServer();
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const client = await connect(port);
    server.stop();
    assert.equal(server.servers.length, 0);
    await assert.rejects(connect(port), { errorCode: 'TYPHOON_CONNECT' });
    await client.write('after stop\n');
    assert.equal((await client.readUntil('\n')).toString(), 'after stop\n');
    client.close();
    server.stop(); // twice is harmless
  });

  test('listen on a port in use rejects with EADDRINUSE', async (t) => {
    const first = new EchoServer();
    const port = await first.listen(0, '127.0.0.1');
    t.after(() => first.stop());
    const second = new EchoServer();
    await assert.rejects(second.listen(port, '127.0.0.1'), { code: 'EADDRINUSE' });
  });

  test('maxBufferSize reaches the streams: a flood without a newline closes the connection', async (t) => {
    const server = new EchoServer({ maxBufferSize: 1024 });
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const client = await connect(port);
    await expectLog(appLog, /Error in connection callback/, async () => {
      void client.write(Buffer.alloc(10_000, 'x')).catch(() => {});
      await client.readUntilClose();
      await until(() => server.endings.length === 1);
    });
    assert.ok(server.endings[0] instanceof StreamBufferFullError);
  });

  test('bindSockets() + addSockets: a server on a Unix socket', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'typhoon-'));
    const path = join(dir, 'echo.sock');
    const server = new EchoServer();
    server.addSockets([await bindUnixSocket(path)]);
    t.after(() => server.stop());
    const socket = net.connect(path);
    await once(socket, 'connect');
    const client = new IOStream(socket);
    await client.write('unix\n');
    assert.equal((await client.readUntil('\n')).toString(), 'unix\n');
    assert.equal(server.addresses[0]?.family, 'unix');
    client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('TCPServer.bindSockets binds and accepts', async (t) => {
    const server = new EchoServer();
    const [listener] = await server.bindSockets(0, '127.0.0.1');
    t.after(() => server.stop());
    assert.ok(listener !== undefined);
    assert.equal(server.servers.length, 1);
    const client = await connect((listener.address() as net.AddressInfo).port);
    await client.write('bound\n');
    assert.equal((await client.readUntil('\n')).toString(), 'bound\n');
    client.close();
  });
});

describe('TCPServer with sslOptions', () => {
  test('serves TLS; handleStream runs after the handshake', async (t) => {
    const server = new EchoServer({ sslOptions: { key, cert } });
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    const socket = tls.connect({ port, host: '127.0.0.1', ca, servername: 'localhost' });
    await once(socket, 'secureConnect');
    const client = new IOStream(socket);
    await client.write('secure\n');
    assert.equal((await client.readUntil('\n')).toString(), 'secure\n');
    client.close();
  });

  test('a failed handshake is logged as a warning and never reaches handleStream', async (t) => {
    const server = new EchoServer({ sslOptions: { key, cert } });
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    await expectLog(genLog, /TLS error on handshake/, async () => {
      const plain = await connect(port);
      await plain.write('GET / HTTP/1.0\r\n\r\n'); // not a TLS ClientHello
      await plain.readUntilClose();
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    assert.equal(server.addresses.length, 0);
  });

  test('a client that never completes the handshake is dropped after handshakeTimeout', async (t) => {
    const server = new EchoServer({ sslOptions: { key, cert }, handshakeTimeout: 100 });
    const port = await server.listen(0, '127.0.0.1');
    t.after(() => server.stop());
    await expectLog(genLog, /TLS error on handshake.*not completed within 100 ms/, async () => {
      const silent = await connect(port);
      await silent.readUntilClose();
    });
    assert.equal(server.addresses.length, 0);
  });
});
