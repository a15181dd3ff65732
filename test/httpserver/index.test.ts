// HTTPServer options over real sockets: the plain callback form, xheaders, keep-alive on/off,
// TLS, graceful stop with pipelined requests in flight, closeAllConnections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import { HTTPServer } from '../../src/httpserver/index.ts';
import { HTTPHeaders, type HTTPServerRequest } from '../../src/httputil/index.ts';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { startTestServer } from '../../src/testing.ts';
import { sleep } from '../../src/gen.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { captureLogs, get, parseResponses, replyText, sendRaw } from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/tls/${name}`, import.meta.url));

function reply(request: HTTPServerRequest, text: string): void {
  replyText(request.connection!, text);
}

test('a plain request callback gets the whole request, body included', async () => {
  const server = new HTTPServer((request) => {
    reply(request, `${request.method} ${request.path} ${request.query} ${request.body.toString()}`);
  });
  const port = await server.listen(0, '127.0.0.1');
  try {
    const res = await fetch(`http://127.0.0.1:${port}/a/b?x=1`, { method: 'POST', body: 'hello' });
    assert.equal(await res.text(), 'POST /a/b x=1 hello');
  } finally {
    await server.stop();
  }
});

test('an exception in a request callback is logged and answered 500', async () => {
  const server = new HTTPServer(() => {
    throw new Error('callback-fail');
  });
  const port = await server.listen(0, '127.0.0.1');
  try {
    await expectLog(appLog, /Uncaught exception in request callback/, async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(res.status, 500);
    });
  } finally {
    await server.stop();
  }
});

test('xheaders: X-Forwarded-For (skipping trusted proxies), X-Real-Ip and X-Forwarded-Proto', async () => {
  const seen: Array<[string, string]> = [];
  const make = (xheaders: boolean) =>
    new HTTPServer(
      (request) => {
        seen.push([request.remoteIp, request.protocol]);
        reply(request, 'ok');
      },
      { xheaders, trustedDownstream: ['10.0.0.9'] },
    );
  for (const xheaders of [true, false]) {
    const server = make(xheaders);
    const port = await server.listen(0, '127.0.0.1');
    try {
      await sendRaw(
        port,
        get('/', { 'X-Forwarded-For': '1.2.3.4, 5.6.7.8, 10.0.0.9', 'X-Forwarded-Proto': 'https' }),
      );
      await sendRaw(port, get('/', { 'X-Real-Ip': '9.9.9.9', 'X-Scheme': 'gopher' }));
      await sendRaw(port, get('/', { 'X-Forwarded-For': 'not-an-ip' }));
    } finally {
      await server.stop();
    }
  }
  assert.deepEqual(seen, [
    ['5.6.7.8', 'https'],
    ['9.9.9.9', 'http'],
    ['127.0.0.1', 'http'],
    ['127.0.0.1', 'http'],
    ['127.0.0.1', 'http'],
    ['127.0.0.1', 'http'],
  ]);
});

test('keep-alive by default; noKeepAlive closes after each response', async () => {
  for (const noKeepAlive of [false, true]) {
    const server = new HTTPServer((request) => reply(request, 'ok'), { noKeepAlive });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const result = await sendRaw(port, [get('/', {}, false), 100, get('/', {}, false)], {
        timeout: 300,
      });
      const responses = parseResponses(result.text);
      if (noKeepAlive) {
        assert.equal(responses.length, 1);
        assert.equal(responses[0]!.headers.connection, 'close');
        assert.ok(result.closedByServer);
      } else {
        assert.equal(responses.length, 2);
        assert.equal(responses[0]!.headers.connection, 'keep-alive');
      }
    } finally {
      await server.stop();
    }
  }
});

test('TLS with sslOptions', async () => {
  class Hello extends RequestHandler {
    override get() {
      this.write(`hello over ${this.request.protocol}`);
    }
  }
  await withTestServer(
    new Application([['/', Hello]]),
    async (srv) => {
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(srv.url('/'), { ca: fixture('ca.pem') }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      assert.equal(body, 'hello over https');
    },
    {
      sslOptions: { key: fixture('key.pem'), cert: fixture('cert.pem') },
    },
  );
});

test('stop({drainTimeout}): three pipelined requests in flight complete, later ones are refused', async () => {
  let started = 0;
  class Slow extends RequestHandler {
    override async get(n: string) {
      started++;
      await sleep(100);
      this.write(`done ${n}`);
    }
  }
  const srv = await startTestServer(new Application([['/(\\d)', Slow]]));
  const pipelined = get('/1', {}, false) + get('/2', {}, false) + get('/3', {}, false);
  const exchange = sendRaw(srv.port, pipelined, { timeout: 3000 });
  while (started < 1) await sleep(5);
  const stopped = srv.server.stop({ drainTimeout: 2000 });
  const result = await exchange;
  await stopped;
  const responses = parseResponses(result.text);
  assert.deepEqual(
    responses.map((r) => [r.status, r.body]),
    [
      [200, 'done 1'],
      [200, 'done 2'],
      [200, 'done 3'],
    ],
  );
  assert.equal(responses[2]!.headers.connection, 'close');
  assert.ok(result.closedByServer);
  const later = await sendRaw(srv.port, get('/1'), { timeout: 500 });
  assert.equal(later.text, '');
  assert.equal(later.error, 'ECONNREFUSED');
});

test('stop(): requests still running past drainTimeout are cut and see onConnectionClose', async () => {
  let closed = 0;
  class Forever extends RequestHandler {
    override get() {
      this.autoFinish = false;
    }
    override onConnectionClose() {
      closed++;
    }
  }
  const srv = await startTestServer(new Application([['/', Forever]]));
  const exchange = sendRaw(srv.port, get('/', {}, false), { timeout: 3000 });
  await sleep(50);
  await srv.server.stop({ drainTimeout: 100 });
  const result = await exchange;
  assert.equal(result.text, '');
  assert.equal(closed, 1);
});

test('closeAllConnections() closes idle keep-alive connections at once', async () => {
  const server = new HTTPServer((request) => reply(request, 'ok'));
  const port = await server.listen(0, '127.0.0.1');
  try {
    const exchange = sendRaw(port, get('/', {}, false), { timeout: 3000 });
    await sleep(100);
    server.closeAllConnections();
    const result = await exchange;
    assert.equal(parseResponses(result.text)[0]?.status, 200);
    assert.ok(result.closedByServer);
  } finally {
    await server.stop();
  }
});

test('listen() rejects when the port is taken', async () => {
  const a = new HTTPServer((request) => reply(request, 'a'));
  const port = await a.listen(0, '127.0.0.1');
  const b = new HTTPServer((request) => reply(request, 'b'));
  try {
    await assert.rejects(b.listen(port, '127.0.0.1'), /EADDRINUSE/);
  } finally {
    await a.stop();
  }
});

test('accepted sockets have TCP keep-alive so half-open long-poll clients are detected', async () => {
  const server = new HTTPServer((request) => reply(request, 'ok'), { tcpKeepAlive: 1000 });
  // node applies keepAlive/keepAliveInitialDelay to every accepted socket.
  const options = server.nodeServer as unknown as {
    keepAlive?: boolean;
    keepAliveInitialDelay?: number;
  };
  assert.equal(options.keepAlive, true);
  assert.ok((options.keepAliveInitialDelay ?? 0) > 0);
  const port = await server.listen(0, '127.0.0.1');
  try {
    const [result] = await captureLogs('gen', () => sendRaw(port, get('/')));
    assert.equal(parseResponses(result.text)[0]?.status, 200);
  } finally {
    await server.stop();
  }
});

test('a bytes body goes out byte for byte, joined to the headers or not, on one kept connection', async () => {
  // Every byte value, at sizes under and over the length that finish() sends as a latin1
  // string joined to the header block (8 KiB), and through the plain connection as well.
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 256));
  const sizes = [1, 256, 1024, 8192, 8193, 40_000];
  class Bytes extends RequestHandler {
    override get(size: string): void {
      this.setHeader('Content-Type', 'application/octet-stream');
      this.write(bytes(Number(size)));
    }
  }
  await withTestServer(new Application([['/bytes/(\\d+)', Bytes]]), async (server) => {
    // Pipelined on one connection: each response must end exactly where its length says.
    const result = await sendRaw(
      server.port,
      sizes.map((n, i) => get(`/bytes/${n}`, {}, i === sizes.length - 1)),
      { timeout: 3000 },
    );
    assert.ok(result.closedByServer);
    const responses = parseResponses(result.text);
    assert.deepEqual(
      responses.map((r) => r.headers['content-length']),
      sizes.map(String),
    );
    for (const [i, n] of sizes.entries()) {
      assert.ok(
        Buffer.from(responses[i]!.body, 'latin1').equals(bytes(n)),
        `body of ${n} bytes differs`,
      );
    }
  });
  const server = new HTTPServer((request) => {
    const body = bytes(Number(request.path.slice(1)));
    const connection = request.connection!;
    connection.writeHeaders(
      200,
      'OK',
      new HTTPHeaders({ 'Content-Length': String(body.length) }),
      null,
    );
    connection.finish(body);
  });
  const port = await server.listen(0, '127.0.0.1');
  try {
    for (const n of sizes) {
      const res = await fetch(`http://127.0.0.1:${port}/${n}`);
      assert.ok(
        Buffer.from(await res.arrayBuffer()).equals(bytes(n)),
        `body of ${n} bytes differs`,
      );
    }
  } finally {
    await server.stop();
  }
});
