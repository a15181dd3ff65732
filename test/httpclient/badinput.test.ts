// AsyncHTTPClient against bad input and hostile servers. Each case must end in a clear
// HTTPClientError, leave no socket open at the peer, and leave the client working.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import type * as net from 'node:net';
import fc from 'fast-check';
import { AsyncHTTPClient, type HTTPResponse } from '../../src/httpclient/index.ts';
import { HTTPClientError } from '../../src/errors.ts';
import { httpPeer, rawPeer, type Peer } from '../helpers/http-peers.ts';
import { until } from '../helpers/wait.ts';

let good: Peer;
let client: AsyncHTTPClient;

before(async () => {
  good = await httpPeer((_req, res) => res.end('healthy'));
  // A short keep-alive so idle pooled sockets close quickly: then "the peer holds no socket"
  // proves that nothing is held open by a failed request.
  client = new AsyncHTTPClient({
    forceInstance: true,
    maxBodySize: 1024 * 1024,
    keepAliveTimeout: 100,
  });
});
after(async () => {
  await client.close();
  await good.close();
});

async function rejects(
  promise: PromiseLike<unknown>,
  message: RegExp,
): Promise<HTTPClientError<HTTPResponse>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HTTPClientError, `expected HTTPClientError, got ${String(err)}`);
    assert.match(err.message, message);
    return err as HTTPClientError<HTTPResponse>;
  }
  assert.fail('expected the fetch to reject');
}

/** The peer holds no socket and the client still fetches from a good server. */
async function healthy(peer: Peer, c: AsyncHTTPClient = client): Promise<void> {
  await until(() => peer.openSockets() === 0, 'the peer’s sockets to close');
  assert.equal((await c.fetch(good.url('/'))).text, 'healthy');
  assert.deepEqual(c.stats(), { inFlight: 0, queued: 0, maxClients: 10 });
}

/** A raw peer answering every request with `response` (then closing, if asked). */
function answering(
  response: string | Buffer,
  close = true,
): Promise<Peer & { received: string[] }> {
  return rawPeer((socket) => {
    socket.write(response);
    if (close) socket.end();
  });
}

describe('bad URLs and requests are refused before a byte is sent', () => {
  let peer: Peer;
  before(async () => {
    peer = await httpPeer((_req, res) => res.end('should not be reached'));
  });
  after(() => peer.close());

  test('invalid URLs', async () => {
    for (const url of ['not a url', 'http://', '', '//no-scheme/x', 'http://[::1/']) {
      const err = await rejects(client.fetch(url), /Invalid URL/);
      assert.equal(err.code, 599);
    }
  });

  test('unsupported schemes', async () => {
    for (const url of [
      'ftp://127.0.0.1/x',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'ws://127.0.0.1/',
    ]) {
      const err = await rejects(client.fetch(url), /Unsupported URL scheme/);
      assert.equal(err.code, 599);
    }
  });

  test('CR/LF in a header name, a header value or the path', async () => {
    const base = peer.url('/');
    await rejects(
      client.fetch(base, { headers: { 'X-Bad\r\nInjected': 'v' } }),
      /Invalid header name/,
    );
    await rejects(client.fetch(base, { headers: { 'X-Bad Name': 'v' } }), /Invalid header name/);
    await rejects(
      client.fetch(base, { headers: { 'X-Ok': 'v\r\nInjected: 1' } }),
      /Invalid value for header x-ok/,
    );
    await rejects(client.fetch(base, { headers: { 'X-Ok': ['fine', 'bad\n'] } }), /Invalid value/);
    await rejects(client.fetch(base, { headers: { 'X-Nul': 'a\0b' } }), /Invalid value/);
    await rejects(client.fetch(base, { userAgent: 'ua\r\nX: y' }), /Invalid userAgent/);
    await rejects(client.fetch(`${base}path\r\nX-Injected: 1`), /control characters/);
    await rejects(client.fetch(`${base}a b`), /control characters/);
    await rejects(client.fetch(`${base}tab\there`), /control characters/);
    await rejects(client.fetch(base, { method: 'GET /x HTTP/1.1\r\n' }), /Invalid HTTP method/);
    assert.equal(peer.connections(), 0, 'nothing reached the server');
    await healthy(peer);
  });
});

describe('hostile servers', () => {
  test('a server that closes in the middle of the body', async () => {
    const peer = await answering('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b');
    const err = await rejects(client.fetch(peer.url('/')), /closed|Content-Length/);
    assert.equal(err.code, 599);
    assert.ok(err.cause instanceof Error);
    await healthy(peer);
    await peer.close();
  });

  test('a chunked body cut off before its last chunk', async () => {
    const peer = await answering(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n',
    );
    const err = await rejects(client.fetch(peer.url('/')), /closed/);
    assert.equal(err.code, 599);
    await healthy(peer);
    await peer.close();
  });

  test('a Content-Length longer than the body (the server then waits) times out', async () => {
    const peer = await answering('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort', false);
    const err = await rejects(
      client.fetch(peer.url('/'), { requestTimeout: 200 }),
      /Timeout during request/,
    );
    assert.equal(err.code, 599);
    await healthy(peer);
    await peer.close();
  });

  test('a Content-Length shorter than the body: the body is cut at Content-Length, the extra bytes never reach the next request', async () => {
    const peer = await rawPeer((socket: net.Socket) => {
      socket.write(
        'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled',
      );
    });
    const first = await client.fetch(peer.url('/one'));
    assert.equal(first.text, 'hello');
    // Whatever the next request gets, it is not the smuggled response.
    const second = await client.fetch(peer.url('/two'), { requestTimeout: 300 }).then(
      (r) => r.text,
      (err: unknown) => (err instanceof HTTPClientError ? 'error' : String(err)),
    );
    assert.notEqual(second, 'smuggled');
    await peer.close();
    await healthy(peer);
  });

  test('a conflicting duplicate Content-Length is refused', async () => {
    const peer = await answering(
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nhello',
    );
    const err = await rejects(
      client.fetch(peer.url('/')),
      /Malformed HTTP response|Content-Length/,
    );
    assert.equal(err.code, 599);
    await healthy(peer);
    await peer.close();
  });

  test('endless redirects stop after maxRedirects with the last 3xx', async () => {
    let hits = 0;
    const peer = await httpPeer((req, res) => {
      hits++;
      res.statusCode = 302;
      res.setHeader('Location', `/loop/${hits}`);
      res.end();
    });
    const err = await rejects(client.fetch(peer.url('/loop/0'), { maxRedirects: 3 }), /HTTP 302/);
    assert.equal(err.code, 302);
    assert.equal(hits, 4, 'the first request plus three redirects');
    assert.equal(err.response?.effectiveUrl, peer.url('/loop/3'));
    await peer.close();
    await healthy(peer);
  });

  test('a redirect to a non-HTTP scheme is refused', async () => {
    const peer = await httpPeer((req, res) => {
      res.statusCode = 302;
      res.setHeader('Location', decodeURIComponent(req.url!.slice(1)));
      res.end();
    });
    for (const target of [
      'ftp://127.0.0.1/file',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/plain,hi',
    ]) {
      const err = await rejects(
        client.fetch(peer.url(`/${encodeURIComponent(target)}`), { raiseError: false }),
        /Refusing to follow redirect to non-HTTP URL/,
      );
      assert.equal(err.code, 599);
      assert.equal(err.response?.code, 302);
    }
    await peer.close();
    await healthy(peer);
  });

  test('response headers past maxHeaderSize', async () => {
    const peer = await httpPeer((req, res) => {
      res.setHeader('X-Big', 'x'.repeat(Number(req.url!.slice(1))));
      res.end('ok');
    });
    const small = new AsyncHTTPClient({
      forceInstance: true,
      maxHeaderSize: 2048,
      keepAliveTimeout: 100,
    });
    try {
      assert.equal((await small.fetch(peer.url('/1000'))).text, 'ok');
      const err = await rejects(
        small.fetch(peer.url('/4000')),
        /exceed maxHeaderSize \(2048 bytes\)/,
      );
      assert.equal(err.code, 599);
      await healthy(peer, small);
    } finally {
      await small.close();
    }
    // The default, 64 KiB: 60 000 bytes pass, 70 000 do not.
    assert.equal((await client.fetch(peer.url('/60000'))).text, 'ok');
    await rejects(client.fetch(peer.url('/70000')), /exceed maxHeaderSize \(65536 bytes\)/);
    await healthy(peer);
    await peer.close();
  });

  test('a body past maxBodySize, with and without Content-Length', async () => {
    const limit = 1024 * 1024;
    const peer = await httpPeer((req, res) => {
      const size = Number(req.url!.split('/')[2]);
      if (req.url!.startsWith('/cl/')) {
        res.end(Buffer.alloc(size, 'a')); // node sets Content-Length
        return;
      }
      res.write(Buffer.alloc(size / 2, 'a')); // chunked: no Content-Length
      res.end(Buffer.alloc(size / 2, 'a'));
    });
    assert.equal(
      (await client.fetch(peer.url(`/cl/${limit}`))).body.length,
      limit,
      'exactly the limit passes',
    );
    await rejects(
      client.fetch(peer.url(`/cl/${limit + 1}`)),
      /Content-Length 1048577 exceeds maxBodySize/,
    );
    await rejects(
      client.fetch(peer.url(`/chunked/${2 * limit}`)),
      /body exceeds maxBodySize \(1048576 bytes\)/,
    );
    await rejects(
      client.fetch(peer.url(`/chunked/${2 * limit}`), { maxBodySize: 1000 }),
      /maxBodySize \(1000 bytes\)/,
    );
    await healthy(peer);
    await peer.close();
  });

  test('a gzip bomb stops at maxBodySize, counted after decompression', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros, ~64 KiB on the wire
    assert.ok(bomb.length < 1024 * 1024, 'the compressed body is under the limit');
    const peer = await httpPeer((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(bomb);
    });
    const err = await rejects(
      client.fetch(peer.url('/')),
      /Decoded response body exceeds maxBodySize \(1048576 bytes\)/,
    );
    assert.equal(err.code, 599);
    assert.equal(err.response?.code, 200, 'the headers that came are attached');
    // Stacked: gzip inside gzip.
    const nested = zlib.gzipSync(bomb);
    const peer2 = await httpPeer((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip, gzip');
      res.end(nested);
    });
    await rejects(client.fetch(peer2.url('/')), /exceeds maxBodySize/);
    await healthy(peer);
    await healthy(peer2);
    await peer.close();
    await peer2.close();
  });

  test('the default maxBodySize (100 MiB) stops a bigger gzip bomb', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(101 * 1024 * 1024));
    const peer = await httpPeer((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(bomb);
    });
    const defaults = new AsyncHTTPClient({ forceInstance: true, keepAliveTimeout: 100 });
    let streamed = 0;
    try {
      await rejects(
        defaults.fetch(peer.url('/'), { streamingCallback: (chunk) => (streamed += chunk.length) }),
        /exceeds maxBodySize \(104857600 bytes\)/,
      );
      assert.ok(streamed <= 100 * 1024 * 1024);
      await healthy(peer, defaults);
    } finally {
      await defaults.close();
      await peer.close();
    }
  });

  test('a stack of many Content-Encodings is refused', async () => {
    let body = Buffer.from('x');
    for (let i = 0; i < 5; i++) body = zlib.gzipSync(body);
    const peer = await httpPeer((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip, gzip, gzip, gzip, gzip');
      res.end(body);
    });
    const err = await rejects(
      client.fetch(peer.url('/')),
      /5 stacked Content-Encodings \(at most 3/,
    );
    assert.equal(err.code, 599);
    await healthy(peer);
    await peer.close();
  });

  test('a corrupt gzip body', async () => {
    const peer = await httpPeer((_req, res) => {
      res.setHeader('Content-Encoding', 'gzip');
      res.end(Buffer.from('this is not gzip at all'));
    });
    await rejects(client.fetch(peer.url('/')), /Error decoding gzip/);
    await healthy(peer);
    await peer.close();
  });

  test('a slow-drip server past requestTimeout', async () => {
    const timers = new Set<ReturnType<typeof setInterval>>();
    const peer = await rawPeer((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n');
      const timer = setInterval(() => socket.write('x'), 20);
      timers.add(timer);
      socket.on('close', () => clearInterval(timer));
    });
    const started = performance.now();
    const err = await rejects(
      client.fetch(peer.url('/'), { requestTimeout: 300 }),
      /Timeout during request/,
    );
    assert.equal(err.code, 599);
    assert.ok(performance.now() - started >= 290);
    await healthy(peer);
    for (const timer of timers) clearInterval(timer);
    await peer.close();
  });

  test('a cross-origin redirect carries no Authorization, Cookie or Proxy-Authorization', async () => {
    const seenByOther: Array<Record<string, unknown>> = [];
    const other = await httpPeer((req, res) => {
      seenByOther.push({ ...req.headers });
      res.end('other');
    });
    const seenByFirst: Array<Record<string, unknown>> = [];
    const first = await httpPeer((req, res) => {
      seenByFirst.push({ ...req.headers });
      res.statusCode = 302;
      res.setHeader('Location', req.url === '/same' ? '/landed' : other.url('/elsewhere'));
      if (req.url === '/landed') {
        res.statusCode = 200;
        res.removeHeader('Location');
      }
      res.end();
    });
    const secrets = {
      Cookie: 'session=1',
      'Proxy-Authorization': 'Basic cHJveHk6cHc=',
      'X-Other': 'kept',
    };
    // Same origin: credentials stay.
    await client.fetch(first.url('/same'), {
      headers: secrets,
      authUsername: 'u',
      authPassword: 'p',
    });
    assert.equal(seenByFirst[1]!.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    assert.equal(seenByFirst[1]!.cookie, 'session=1');
    // Other origin: they are dropped, other headers kept.
    const response = await client.fetch(first.url('/away'), {
      headers: secrets,
      authUsername: 'u',
      authPassword: 'p',
    });
    assert.equal(response.text, 'other');
    assert.equal(seenByFirst[2]!.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    const leaked = seenByOther[0]!;
    assert.equal(leaked.authorization, undefined);
    assert.equal(leaked.cookie, undefined);
    assert.equal(leaked['proxy-authorization'], undefined);
    assert.equal(leaked['x-other'], 'kept');
    await first.close();
    await other.close();
  });
});

describe('fuzzed servers', () => {
  const statusLine = fc.constantFrom(
    'HTTP/1.1 200 OK\r\n',
    'HTTP/1.1 404 Nope\r\n',
    'HTTP/1.0 200 OK\r\n',
    '',
  );
  const headerLine = fc.oneof(
    fc.constantFrom(
      'Content-Length: 5\r\n',
      'Content-Length: -1\r\n',
      'Content-Length: 99999999999999999999\r\n',
      'Transfer-Encoding: chunked\r\n',
      'Transfer-Encoding: gzip, chunked\r\n',
      'Content-Encoding: gzip\r\n',
      'Content-Encoding: br, deflate\r\n',
      'Location: /x\r\n',
      ': empty-name\r\n',
      'Bad Header\r\n',
    ),
    fc.string({ maxLength: 40 }).map((s) => `X-F: ${s}\r\n`),
  );
  const garbage = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1'));
  const response = fc
    .tuple(statusLine, fc.array(headerLine, { maxLength: 5 }), fc.boolean(), garbage)
    .map(([line, headers, blank, rest]) => line + headers.join('') + (blank ? '\r\n' : '') + rest);
  const randomBytes = fc
    .uint8Array({ minLength: 1, maxLength: 300 })
    .map((b) => Buffer.from(b).toString('latin1'));

  test('random or half-valid bytes, split anywhere: a response or an HTTPClientError, never a hang or a leak', async () => {
    let current: string[] = [];
    const peer = await rawPeer((socket) => {
      const parts = current;
      let i = 0;
      const next = () => {
        if (socket.destroyed) return;
        if (i >= parts.length) {
          socket.end();
          return;
        }
        socket.write(Buffer.from(parts[i++]!, 'latin1'), next);
      };
      next();
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(response, randomBytes),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (bytes, cuts) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort(
            (a, b) => a - b,
          );
          const parts: string[] = [];
          let last = 0;
          for (const p of points) {
            parts.push(bytes.slice(last, p));
            last = p;
          }
          parts.push(bytes.slice(last));
          current = parts.filter((p) => p.length > 0);
          const outcome = await client
            .fetch(peer.url('/'), { requestTimeout: 2000, raiseError: false })
            .then(
              (r) => r,
              (err: unknown) => err,
            );
          if (!(outcome instanceof HTTPClientError)) {
            assert.equal(typeof (outcome as HTTPResponse).code, 'number');
          } else {
            assert.doesNotMatch(outcome.message, /Timeout/, `hung on ${JSON.stringify(bytes)}`);
          }
          await until(() => peer.openSockets() === 0, 'the fuzzed connection to close');
        },
      ),
      { numRuns: 60, seed: 7 },
    );
    await healthy(peer);
    await peer.close();
  });

  test('a valid chunked response split at any points decodes to the same body', async () => {
    let current: Buffer[] = [];
    const peer = await rawPeer((socket) => {
      const parts = current;
      let i = 0;
      const next = () => {
        if (i >= parts.length) return;
        socket.write(parts[i++]!, () => setImmediate(next));
      };
      next();
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ minLength: 1, maxLength: 20 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        async (chunks, cuts) => {
          const wire = Buffer.from(
            'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
              chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('') +
              '0\r\n\r\n',
          );
          const points = [...new Set(cuts.map((c) => c % wire.length))].sort((a, b) => a - b);
          const parts: Buffer[] = [];
          let last = 0;
          for (const p of points) {
            parts.push(wire.subarray(last, p));
            last = p;
          }
          parts.push(wire.subarray(last));
          current = parts.filter((p) => p.length > 0);
          const got = await client.fetch(peer.url('/'), { requestTimeout: 2000 });
          assert.equal(got.text, chunks.join(''));
        },
      ),
      { numRuns: 40, seed: 11 },
    );
    await peer.close();
  });
});
