// Slow readers (issue 12 item 2): a client that stops reading is closed after `writeTimeout`
// without progress, for a static file and for a handler's body, and the server's memory
// stays flat meanwhile (flush() waits until its bytes were handed to the OS, so a handler
// writing in a loop is slowed, not ballooned). A slow client that still reads is not cut.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Application, RequestHandler, StaticFileHandler } from '../../src/web/index.ts';
import { StreamClosedError } from '../../src/errors.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { sleep } from '../../src/gen.ts';
import { captureLogs } from '../helpers/raw-http.ts';

const MiB = 1024 * 1024;
const WRITE_TIMEOUT = 400;

/** Clients that send a request, take the response head, then never read again. */
function stalledClients(port: number, path: string, n: number): net.Socket[] {
  return Array.from({ length: n }, () => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    socket.once('data', () => socket.pause());
    socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return socket;
  });
}

function serverMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function connections(srv: TestServer): Promise<number> {
  return new Promise((resolve, reject) =>
    srv.server.nodeServer.getConnections((error, count) =>
      error ? reject(error) : resolve(count),
    ),
  );
}

/** Sample memory until the server holds no connection (or `limit` ms); the peak growth. */
async function watch(srv: TestServer, base: number, limit: number): Promise<[number, number]> {
  let peak = 0;
  const start = Date.now();
  let open = await connections(srv);
  while (open > 0 && Date.now() - start < limit) {
    peak = Math.max(peak, serverMemory() - base);
    await sleep(25);
    open = await connections(srv);
  }
  return [peak, open];
}

test('a 64 MiB static file to clients that stop reading: memory flat, closed after writeTimeout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'typhoon-slow-'));
  try {
    writeFileSync(join(dir, 'big.bin'), '');
    truncateSync(join(dir, 'big.bin'), 64 * MiB);
    const app = new Application([['/(.*)', StaticFileHandler, { path: dir }]]);
    const srv = await startTestServer(app, { writeTimeout: WRITE_TIMEOUT });
    try {
      // The Etag hash reads the whole file once; let that happen before measuring.
      await srv.fetch('/big.bin', { method: 'HEAD' });
      const base = serverMemory();
      const [[peak, open], logs] = await captureLogs('gen', async () => {
        stalledClients(srv.port, '/big.bin', 4);
        await sleep(100);
        return watch(srv, base, 5000);
      });
      assert.equal(open, 0, 'every stalled client was closed');
      assert.ok(peak < 24 * MiB, `server memory grew by ${(peak / MiB).toFixed(1)} MiB`);
      assert.ok(
        logs.filter((r) => /writeTimeout/.test(r.message)).length >= 4,
        logs.map((r) => r.message).join('\n'),
      );
    } finally {
      await srv.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handler writing 64 MiB in a write/flush loop to clients that stop reading: slowed, not ballooned', async () => {
  const outcomes: unknown[] = [];
  class Loop extends RequestHandler {
    override async get() {
      const chunk = Buffer.alloc(MiB, 'x');
      try {
        for (let i = 0; i < 128; i++) {
          this.write(chunk);
          await this.flush();
        }
        outcomes.push('finished');
      } catch (error) {
        outcomes.push(error);
      }
    }
  }
  const srv = await startTestServer(new Application([['/', Loop]]), {
    writeTimeout: WRITE_TIMEOUT,
  });
  try {
    const base = serverMemory();
    const [[peak, open]] = await captureLogs('gen', async () => {
      stalledClients(srv.port, '/', 4);
      await sleep(100);
      return watch(srv, base, 5000);
    });
    assert.equal(open, 0, 'every stalled client was closed');
    assert.ok(peak < 32 * MiB, `server memory grew by ${(peak / MiB).toFixed(1)} MiB`);
    for (let i = 0; i < 50 && outcomes.length < 4; i++) await sleep(20);
    assert.equal(outcomes.length, 4);
    for (const outcome of outcomes)
      assert.ok(outcome instanceof StreamClosedError, String(outcome));
  } finally {
    await srv.close();
  }
});

test('a whole 16 MiB body written at once to a client that stops reading is released after writeTimeout', async () => {
  class Once extends RequestHandler {
    override get() {
      this.write(Buffer.alloc(16 * MiB, 'y'));
    }
  }
  const srv = await startTestServer(new Application([['/', Once]]), {
    writeTimeout: WRITE_TIMEOUT,
  });
  try {
    const started = Date.now();
    const [[, open]] = await captureLogs('gen', async () => {
      stalledClients(srv.port, '/', 3);
      await sleep(100);
      return watch(srv, serverMemory(), 5000);
    });
    assert.equal(open, 0);
    assert.ok(Date.now() - started < 4000);
  } finally {
    await srv.close();
  }
});

test('writeTimeout does not cut a slow client that keeps reading', async () => {
  class Big extends RequestHandler {
    override async get() {
      const chunk = Buffer.alloc(256 * 1024, 'z');
      for (let i = 0; i < 128; i++) {
        this.write(chunk);
        await this.flush();
      }
    }
  }
  const srv = await startTestServer(new Application([['/', Big]]), {
    writeTimeout: WRITE_TIMEOUT,
  });
  try {
    const started = Date.now();
    const received = await new Promise<number>((resolve) => {
      const socket = net.connect(srv.port, '127.0.0.1');
      let bytes = 0;
      // Read 4 MiB, then nothing until the next tick 150 ms later (a pause well under
      // writeTimeout): slow, never stalled. Counted in bytes, not time, so a busy machine that
      // runs the timers late cannot turn it into a fast reader.
      let burst = 0;
      socket.on('data', (d: Buffer) => {
        bytes += d.length;
        burst += d.length;
        if (burst >= 4 * MiB) socket.pause();
      });
      const toggle = setInterval(() => {
        burst = 0;
        socket.resume();
      }, 150);
      socket.on('close', () => {
        clearInterval(toggle);
        resolve(bytes);
      });
      socket.on('error', () => {});
      socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    });
    assert.ok(received >= 32 * MiB, `got ${received} bytes`);
    // It did take longer than writeTimeout, with the server waiting on the client.
    assert.ok(Date.now() - started > 2 * WRITE_TIMEOUT, `took ${Date.now() - started} ms`);
  } finally {
    await srv.close();
  }
});
