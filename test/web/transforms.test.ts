// GZipContentEncoding over real sockets (the `compressResponse` setting): what is compressed and
// what is not, `Vary`, Content-Length, and streaming — each flush() must reach the client
// decodable before the response ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { acceptsGzip, isCompressibleType } from '../../src/web/transforms.ts';
import { Event } from '../../src/locks.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { parseResponses, sendRaw } from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

const TEXT = 'typhoon compresses text. '.repeat(200); // 5 000 bytes
const SMALL = 'x'.repeat(1023);

class Page extends RequestHandler {
  override get(kind: string) {
    if (kind === 'small') this.write(SMALL);
    else if (kind === 'png') {
      this.setHeader('Content-Type', 'image/png');
      this.write(TEXT);
    } else if (kind === 'json') this.write({ text: TEXT });
    else if (kind === 'vary') {
      this.setHeader('Vary', 'Cookie');
      this.write(TEXT);
    } else if (kind === 'encoded') {
      this.setHeader('Content-Encoding', 'br');
      this.write(TEXT);
    } else if (kind === 'empty') this.setStatus(204);
    else this.write(TEXT);
  }
  override head() {
    this.write(TEXT);
  }
}

const released = new Event();
class Streamer extends RequestHandler {
  override async get() {
    this.setHeader('Content-Type', 'text/plain');
    this.write('first part: ' + 'a'.repeat(3000));
    await this.flush();
    await released.wait(); // the test decodes the first part before letting us go on
    this.write('second part: ' + 'b'.repeat(3000));
    await this.flush();
    this.write('last');
  }
}

function app(settings: Record<string, unknown> = { compressResponse: true }): Application {
  return new Application(
    [
      ['/stream', Streamer],
      [String.raw`/(\w+)`, Page],
    ],
    settings,
  );
}

async function raw(srv: TestServer, path: string, headers: Record<string, string>, method = 'GET') {
  let request = `${method} ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) request += `${k}: ${v}\r\n`;
  const result = await sendRaw(srv.port, request + '\r\n');
  const [response] = parseResponses(result.text, method === 'HEAD' ? 1 : 0);
  return { ...response!, bytes: Buffer.from(response!.body, 'latin1') };
}

test('a large text response is gzipped for a client that accepts it, with Vary and Content-Length', async () => {
  await withTestServer(app(), async (srv) => {
    const res = await raw(srv, '/page', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['vary'], 'Accept-Encoding');
    assert.equal(res.headers['content-length'], String(res.bytes.length));
    assert.ok(res.bytes.length < TEXT.length / 10);
    assert.equal(zlib.gunzipSync(res.bytes).toString(), TEXT);
    const json = await raw(srv, '/json', { 'Accept-Encoding': 'gzip' });
    assert.equal(json.headers['content-encoding'], 'gzip');
    assert.deepEqual(JSON.parse(zlib.gunzipSync(json.bytes).toString()), { text: TEXT });
    // Node's fetch decodes it transparently.
    const fetched = await srv.fetch('/page');
    assert.equal(fetched.headers.get('Content-Encoding'), 'gzip');
    assert.equal(await fetched.text(), TEXT);
  });
});

test('not compressed: under 1024 bytes, not accepted, not text-like, already encoded, no body', async () => {
  await withTestServer(app(), async (srv) => {
    const small = await raw(srv, '/small', { 'Accept-Encoding': 'gzip' });
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.headers['vary'], 'Accept-Encoding');
    assert.equal(small.headers['content-length'], '1023');
    assert.equal(small.body, SMALL);
    for (const accept of [undefined, 'identity', 'gzip;q=0', 'br', 'deflate, *;q=0']) {
      const res = await raw(
        srv,
        '/page',
        accept === undefined ? {} : { 'Accept-Encoding': accept },
      );
      assert.equal(res.headers['content-encoding'], undefined, accept);
      assert.equal(res.body, TEXT, accept);
      assert.equal(res.headers['content-length'], String(TEXT.length), accept);
    }
    const png = await raw(srv, '/png', { 'Accept-Encoding': 'gzip' });
    assert.equal(png.headers['content-encoding'], undefined);
    assert.equal(png.body, TEXT);
    const encoded = await raw(srv, '/encoded', { 'Accept-Encoding': 'gzip' });
    assert.equal(encoded.headers['content-encoding'], 'br');
    assert.equal(encoded.body, TEXT);
    const empty = await raw(srv, '/empty', { 'Accept-Encoding': 'gzip' });
    assert.equal(empty.status, 204);
    assert.equal(empty.headers['content-length'], undefined);
    const vary = await raw(srv, '/vary', { 'Accept-Encoding': 'gzip' });
    assert.equal(vary.headers['vary'], 'Cookie, Accept-Encoding');
  });
});

test('HEAD tells the compressed length without a body; 304 stays empty', async () => {
  await withTestServer(app(), async (srv) => {
    const head = await raw(srv, '/page', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    const full = await raw(srv, '/page', { 'Accept-Encoding': 'gzip' });
    assert.equal(head.headers['content-encoding'], 'gzip');
    assert.equal(head.headers['content-length'], full.headers['content-length']);
    assert.equal(head.body, '');
    const etag = full.headers['etag']!;
    const notModified = await raw(srv, '/page', {
      'Accept-Encoding': 'gzip',
      'If-None-Match': etag,
    });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body, '');
    assert.equal(notModified.headers['content-encoding'], undefined);
  });
});

test('without compressResponse nothing is compressed and no Vary is added', async () => {
  await withTestServer(app({}), async (srv) => {
    const res = await raw(srv, '/page', { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(res.headers['vary'], undefined);
    assert.equal(res.body, TEXT);
  });
});

test('a streamed response is decodable after each flush(), before the response ends', async () => {
  const srv = await startTestServer(app());
  const socket = net.connect(srv.port, '127.0.0.1');
  try {
    released.clear();
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'GET /stream HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n',
    );
    // Parse the head and the chunked framing by hand, feeding the body into a gunzip stream.
    const gunzip = zlib.createGunzip();
    let decoded = '';
    gunzip.on('data', (d: Buffer) => (decoded += d.toString()));
    let buffered = Buffer.alloc(0);
    let head: string | null = null;
    const ended = new Promise<void>((resolve) => gunzip.on('end', resolve));
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (head === null) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buffered.subarray(0, end).toString('latin1');
        buffered = buffered.subarray(end + 4);
      }
      for (;;) {
        const lineEnd = buffered.indexOf('\r\n');
        if (lineEnd < 0) return;
        const size = parseInt(buffered.subarray(0, lineEnd).toString('latin1'), 16);
        if (buffered.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          gunzip.end();
          return;
        }
        gunzip.write(buffered.subarray(lineEnd + 2, lineEnd + 2 + size));
        buffered = buffered.subarray(lineEnd + 2 + size + 2);
      }
    });
    const deadline = Date.now() + 5000;
    while (!decoded.includes('a'.repeat(3000)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(decoded, 'first part: ' + 'a'.repeat(3000), 'first flush decodable on its own');
    assert.match(head!, /content-encoding: gzip/i);
    assert.match(head!, /transfer-encoding: chunked/i);
    assert.doesNotMatch(head!, /content-length/i);
    released.set();
    await ended;
    assert.equal(decoded, `first part: ${'a'.repeat(3000)}second part: ${'b'.repeat(3000)}last`);
  } finally {
    socket.destroy();
    await srv.close();
  }
});

test('static files go through the same transform', async () => {
  const { StaticFileHandler } = await import('../../src/web/static-file-handler.ts');
  const root = fileURLToPath(new URL('../fixtures/static/', import.meta.url));
  const srv = await startTestServer(
    new Application([[String.raw`/(.*)`, StaticFileHandler, { path: root }]], {
      compressResponse: true,
    }),
  );
  try {
    const res = await raw(srv, '/words.txt', { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(zlib.gunzipSync(res.bytes).toString(), readFileSync(`${root}/words.txt`, 'utf8'));
    const range = await raw(srv, '/words.txt', { 'Accept-Encoding': 'gzip', Range: 'bytes=0-99' });
    assert.equal(range.status, 206);
    assert.equal(range.headers['content-encoding'], undefined, 'a 206 is never compressed');
    assert.equal(range.body.length, 100);
  } finally {
    await srv.close();
  }
});

test('acceptsGzip and isCompressibleType', () => {
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('GZIP;q=0.5'), true);
  assert.equal(acceptsGzip('x-gzip'), true);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('gzip;q=0.0, *'), false);
  assert.equal(acceptsGzip('br, deflate'), false);
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(isCompressibleType('text/html; charset=UTF-8'), true);
  assert.equal(isCompressibleType('application/vnd.api+json'), true);
  assert.equal(isCompressibleType('image/svg+xml'), true);
  assert.equal(isCompressibleType('image/png'), false);
  assert.equal(isCompressibleType('application/octet-stream'), false);
  assert.equal(isCompressibleType(undefined), false);
});
