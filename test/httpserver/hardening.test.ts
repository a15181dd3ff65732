// HTTPServer hardening (issue 12): protocol details checked against Tornado and RFC 9110,
// graceful drain with pipelined requests, slow request bodies (bodyIdleTimeout) and the
// per-process connection cap (maxConnections). Each test was written to fail first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { readFileSync } from 'node:fs';
import { HTTPServer } from '../../src/httpserver/index.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { startTestServer } from '../../src/testing.ts';
import { sleep } from '../../src/gen.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { captureLogs, get, parseResponses, sendRaw } from '../helpers/raw-http.ts';

// --- protocol details -------------------------------------------------------------------------

test('204, 304 and 1xx responses carry no Content-Type, Content-Encoding or Content-Language', async () => {
  class NoBody extends RequestHandler {
    override get(code: string) {
      this.setHeader('Content-Type', 'text/html; charset=UTF-8');
      this.setHeader('Content-Encoding', 'gzip');
      this.setHeader('Content-Language', 'en');
      this.setStatus(Number(code));
    }
  }
  const srv = await startTestServer(new Application([['/(\\d+)', NoBody]]));
  try {
    // A handler may end with a 1xx status as in Tornado; it goes out as the final response.
    for (const code of ['204', '304', '100', '103', '199']) {
      const result = await sendRaw(srv.port, get(`/${code}`));
      const [response] = parseResponses(result.text);
      assert.equal(response?.status, Number(code), result.text);
      for (const name of ['content-type', 'content-encoding', 'content-language', 'content-length'])
        assert.equal(response.headers[name], undefined, `${code} ${name}`);
    }
  } finally {
    await srv.close();
  }
});

test('HTTP/0.9 (no version) is 400 and HTTP/2.0 on the HTTP/1 port is 505, never 200', async () => {
  class Ok extends RequestHandler {
    override get() {
      this.write('ok');
    }
  }
  const srv = await startTestServer(new Application([['/', Ok]]));
  try {
    const [http09, logs09] = await captureLogs('gen', () => sendRaw(srv.port, 'GET /\r\n\r\n'));
    assert.match(http09.text, /^HTTP\/1\.1 400 /, JSON.stringify(http09.text));
    assert.match(logs09[0]?.message ?? '', /unsupported HTTP version 0\.9/);
    const [http2, logs2] = await captureLogs('gen', () =>
      sendRaw(srv.port, 'GET / HTTP/2.0\r\nHost: x\r\n\r\n'),
    );
    assert.match(http2.text, /^HTTP\/1\.1 505 /, JSON.stringify(http2.text));
    assert.match(logs2[0]?.message ?? '', /unsupported HTTP version 2\.0/);
  } finally {
    await srv.close();
  }
});

test('CONNECT gets a 405 response with Allow, not a silent close', async () => {
  class Ok extends RequestHandler {
    override get() {
      this.write('ok');
    }
  }
  const srv = await startTestServer(new Application([['.*', Ok]]));
  try {
    const result = await claimLogs([[accessLog, /^405 CONNECT/]], () =>
      sendRaw(srv.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n'),
    );
    const [response] = parseResponses(result.text);
    assert.equal(response?.status, 405, JSON.stringify(result.text));
    assert.ok(response.headers.allow?.includes('GET'), JSON.stringify(response.headers));
    assert.ok(result.closedByServer);
  } finally {
    await srv.close();
  }
});

test('405 carries an Allow header naming what the handler implements (RFC 9110)', async () => {
  class OnlyGet extends RequestHandler {
    override get() {
      this.write('ok');
    }
  }
  class GetPost extends RequestHandler {
    override get() {
      this.write('ok');
    }
    override post() {
      this.write('ok');
    }
  }
  const srv = await startTestServer(
    new Application([
      ['/get', OnlyGet],
      ['/both', GetPost],
    ]),
  );
  try {
    const one = await claimLogs([[accessLog, /^405 POST/]], () =>
      srv.fetch('/get', { method: 'POST', body: 'x' }),
    );
    assert.equal(one.status, 405);
    assert.deepEqual(splitAllow(one.headers.get('allow')), ['GET']);
    const two = await claimLogs([[accessLog, /^405 DELETE/]], () =>
      srv.fetch('/both', { method: 'DELETE' }),
    );
    assert.equal(two.status, 405);
    assert.deepEqual(splitAllow(two.headers.get('allow')), ['GET', 'POST']);
    // A method outside SUPPORTED_METHODS gets one too.
    const odd = await claimLogs([[accessLog, /^405 PROPFIND/]], () =>
      sendRaw(srv.port, 'PROPFIND /get HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    );
    const [response] = parseResponses(odd.text);
    assert.equal(response?.status, 405);
    assert.deepEqual(splitAllow(response.headers.allow ?? null), ['GET']);
  } finally {
    await srv.close();
  }
});

function splitAllow(value: string | null): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .sort();
}

test('an unknown Content-Encoding with decompressRequest on is 415, not the undecoded bytes', async () => {
  let ran = 0;
  class Echo extends RequestHandler {
    override post() {
      ran++;
      this.write({ bytes: this.request.body.length });
    }
  }
  const srv = await startTestServer(new Application([['/', Echo]]), { decompressRequest: true });
  try {
    for (const encoding of ['br', 'x-made-up', 'gzip, br']) {
      const [result, logs] = await captureLogs('gen', () =>
        sendRaw(
          srv.port,
          `POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: ${encoding}\r\nContent-Length: 3\r\n\r\nabc`,
        ),
      );
      assert.equal(parseResponses(result.text)[0]?.status, 415, encoding);
      assert.match(logs[0]?.message ?? '', /unsupported Content-Encoding/);
    }
    assert.equal(ran, 0);
    // identity is no encoding at all.
    const plain = await sendRaw(
      srv.port,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: identity\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc`,
    );
    assert.equal(parseResponses(plain.text)[0]?.status, 200);
  } finally {
    await srv.close();
  }
  // Without decompressRequest the bytes are the application's business, as in Tornado.
  const off = await startTestServer(new Application([['/', Echo]]));
  try {
    const res = await off.fetch('/', {
      method: 'POST',
      body: 'abc',
      headers: { 'Content-Encoding': 'br' },
    });
    assert.equal(res.status, 200);
  } finally {
    await off.close();
  }
});

test('a bare CR inside a multipart part header is 400, as in Tornado 6.5', async () => {
  class Upload extends RequestHandler {
    override post() {
      this.write({ names: Object.keys(this.request.bodyArguments) });
    }
  }
  const srv = await startTestServer(new Application([['/', Upload]]));
  try {
    const body = (header: string) => `--B\r\n${header}\r\n\r\nvalue\r\n--B--\r\n`;
    const send = (header: string) => {
      const b = body(header);
      return sendRaw(
        srv.port,
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: ${Buffer.byteLength(b, 'latin1')}\r\nConnection: close\r\n\r\n${b}`,
      );
    };
    const good = await send('Content-Disposition: form-data; name="a"');
    assert.equal(parseResponses(good.text)[0]?.body, '{"names":["a"]}');
    for (const bad of [
      'Content-Disposition: form-data; name="a"\rX-Evil: 1',
      'Content-Disposition: form-data; name="a\rb"',
      'Content-Disposition: form-data; name="a"\nX-Evil: 1',
    ]) {
      const result = await claimLogs(
        [
          [accessLog, /^400 POST/],
          [genLog, /^400 POST/],
        ],
        () => send(bad),
      );
      assert.equal(parseResponses(result.text)[0]?.status, 400, JSON.stringify(bad));
    }
  } finally {
    await srv.close();
  }
});

// --- drain --------------------------------------------------------------------------------------

test('stop({drainTimeout}) 200 ms into three pipelined requests: every handler that ran is answered', async () => {
  const ran: string[] = [];
  class Slow extends RequestHandler {
    override async get(n: string) {
      ran.push(n);
      await sleep(600 - Number(n) * 150);
      this.write(`done ${n}`);
    }
  }
  const srv = await startTestServer(new Application([['/(\\d)', Slow]]));
  const pipelined = get('/1', {}, false) + get('/2', {}, false) + get('/3', {}, false);
  const exchange = sendRaw(srv.port, pipelined, { timeout: 3000 });
  await sleep(200);
  const stopped = srv.server.stop({ drainTimeout: 2000 });
  const result = await exchange;
  await stopped;
  const responses = parseResponses(result.text);
  assert.ok(ran.length >= 1);
  // Every handler that ran has its response, in order; none ran without one.
  assert.deepEqual(
    responses.map((r) => [r.status, r.body]),
    ran.map((n) => [200, `done ${n}`]),
    JSON.stringify(result.text),
  );
  assert.equal(ran.length, 3);
  // The third answer went out before stop() (keep-alive); the server still closes the
  // connection once the last queued answer is written.
  assert.ok(result.closedByServer);
});

test('a malformed request behind pipelined ones: each handler that ran is answered first, then 400', async () => {
  class Slow extends RequestHandler {
    override async get(n: string) {
      // /1 answers last: its response still waits when the bad request is read.
      await sleep(n === '1' ? 200 : 20);
      this.write(`done ${n}`);
    }
  }
  class Streaming extends RequestHandler {
    override async get() {
      // Headers and a first chunk are out when the bad request is read.
      this.write('part 1, ');
      await this.flush();
      await sleep(150);
      this.write('part 2');
    }
  }
  const srv = await startTestServer(
    new Application([
      ['/(\\d)', Slow],
      ['/stream', Streaming],
    ]),
  );
  try {
    const bad = 'NOT A REQUEST\r\n\r\n';
    for (const [bytes, bodies] of [
      [get('/1', {}, false) + get('/2', {}, false) + bad, ['done 1', 'done 2']],
      [get('/stream', {}, false) + bad, ['part 1, part 2']],
    ] as const) {
      // One write: the bad request is parsed while the others are still in flight.
      const [result, logs] = await captureLogs('gen', () =>
        sendRaw(srv.port, bytes, { timeout: 3000 }),
      );
      const responses = parseResponses(result.text);
      assert.deepEqual(
        responses.map((r) => [r.status, r.body]),
        [...bodies.map((body) => [200, body]), [400, '']],
        JSON.stringify(result.text),
      );
      assert.ok(result.closedByServer, 'the connection closes after the 400');
      assert.match(logs[0]?.message ?? '', /^Malformed HTTP message/);
    }
  } finally {
    await srv.close();
  }
});

// --- slow bodies ------------------------------------------------------------------------------

test('bodyIdleTimeout: a body that stops delivering bytes gets 408 and the connection closes', async () => {
  let ran = 0;
  class Upload extends RequestHandler {
    override post() {
      ran++;
      this.write('ok');
    }
  }
  const srv = await startTestServer(new Application([['/', Upload]]), { bodyIdleTimeout: 300 });
  try {
    const started = Date.now();
    const [result, logs] = await captureLogs('gen', () =>
      sendRaw(
        srv.port,
        ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'abc', 50, 'def'],
        { timeout: 3000 },
      ),
    );
    assert.equal(parseResponses(result.text)[0]?.status, 408, JSON.stringify(result.text));
    assert.ok(result.closedByServer);
    assert.ok(Date.now() - started < 2000);
    assert.equal(ran, 0);
    assert.ok(logs.some((r) => /bodyIdleTimeout/.test(r.message)));
    // A slow body that keeps trickling in is not idle: 6 pieces 150 ms apart (900 ms > 300).
    const pieces: Array<string | number> = [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\n',
    ];
    for (let i = 0; i < 6; i++) pieces.push(150, 'x');
    const slow = await sendRaw(srv.port, pieces, { timeout: 3000 });
    assert.equal(parseResponses(slow.text)[0]?.status, 200, JSON.stringify(slow.text));
    assert.equal(ran, 1);
  } finally {
    await srv.close();
  }
});

test('bodyIdleTimeout and writeTimeout are server options of app.listen too', async () => {
  const app = new Application([['/', RequestHandler]]);
  const server = await app.listen(0, '127.0.0.1', { bodyIdleTimeout: 250, writeTimeout: 1000 });
  try {
    const port = server.address()!.port;
    const [result] = await captureLogs('gen', () =>
      sendRaw(port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab', {
        timeout: 3000,
      }),
    );
    assert.equal(parseResponses(result.text)[0]?.status, 408);
  } finally {
    await server.stop();
  }
});

// --- connection cap ---------------------------------------------------------------------------

function openSockets(
  port: number,
  n: number,
): Promise<Array<{ socket: net.Socket; closed: boolean }>> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ socket: net.Socket; closed: boolean }>((resolve) => {
          const entry = { socket: net.connect(port, '127.0.0.1'), closed: false };
          entry.socket.on('error', () => {});
          entry.socket.on('close', () => (entry.closed = true));
          entry.socket.on('connect', () => resolve(entry));
        }),
    ),
  );
}

test('maxConnections: past the cap new connections are closed at once, counted in a rate-limited log line, and the process keeps working', async () => {
  class Ok extends RequestHandler {
    override async get() {
      // Files and outgoing connections still get descriptors.
      const text = readFileSync(new URL(import.meta.url), 'utf8').slice(0, 2);
      const other = await fetch(`http://127.0.0.1:${outside.port}/`);
      this.write(`${text} ${await other.text()}`);
    }
  }
  class Plain extends RequestHandler {
    override get() {
      this.write('//');
    }
  }
  const outside = await startTestServer(new Application([['/', Plain]]));
  const srv = await startTestServer(new Application([['/', Ok]]), { maxConnections: 5 });
  assert.equal(srv.server.maxConnections, 5);
  try {
    const held = await openSockets(srv.port, 5);
    await sleep(50);
    const extra = await claimLogs(
      [[genLog, /^Refused \d+ connections? over maxConnections=5/]],
      async () => {
        const sockets = await openSockets(srv.port, 20);
        for (let i = 0; i < 50 && sockets.some((s) => !s.closed); i++) await sleep(20);
        return sockets;
      },
    );
    assert.ok(
      extra.every((s) => s.closed),
      'every connection over the cap was closed',
    );
    assert.ok(
      held.every((s) => !s.closed),
      'the connections under the cap stay',
    );
    // Free one: a new client is served, and its handler can still open files and sockets.
    held[0]!.socket.destroy();
    await sleep(100);
    const result = await sendRaw(srv.port, get('/'), { timeout: 3000 });
    const [response] = parseResponses(result.text);
    assert.equal(response?.status, 200, JSON.stringify(result.text));
    assert.equal(response.body, '// //');
    for (const s of held) s.socket.destroy();
    // Stopping reports the refusals the 10 s interval had not yet reported.
    await claimLogs([[genLog, /^Refused 19 connections over maxConnections=5$/]], () =>
      srv.close(),
    );
  } finally {
    await srv.close();
    await outside.close();
  }
});

test('maxConnections defaults to 95 % of the soft descriptor limit where /proc/self/limits exists; 0 means no cap', async (t) => {
  let limits: string;
  try {
    limits = readFileSync('/proc/self/limits', 'latin1');
  } catch {
    t.skip('no /proc/self/limits on this platform');
    return;
  }
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1]);
  const server = new HTTPServer(() => {});
  assert.equal(server.maxConnections, Math.floor(soft * 0.95));
  assert.equal((server.nodeServer as { dropMaxConnection?: boolean }).dropMaxConnection, true);
  assert.equal(new HTTPServer(() => {}, { maxConnections: 0 }).maxConnections, undefined);
});
