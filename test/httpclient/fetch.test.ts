// One fetch and its attempts: timeouts, redirects, response bodies (decoding, streaming),
// request bodies, proxies and TLS.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { AsyncHTTPClient } from '../../src/httpclient/index.ts';
import { TimeoutError } from '../../src/errors.ts';
import { httpPeer, httpsPeer, silentPeer, TLS_FILES } from '../helpers/http-peers.ts';
import { echo, rejects, withPeer, type Echo } from '../helpers/httpclient.ts';
import { until } from '../helpers/wait.ts';

describe('timeouts', () => {
  test('requestTimeout: a server that never answers gives 599 "Timeout during request"', () =>
    withPeer(
      () => undefined,
      async (peer, client) => {
        const err = await rejects(client.fetch(peer.url('/'), { requestTimeout: 150 }));
        assert.equal(err.code, 599);
        assert.match(err.message, /Timeout during request/);
        assert.ok(err.cause instanceof TimeoutError);
        await until(() => peer.openSockets() === 0, 'the timed-out socket to close');
      },
    ));

  test('connectTimeout: a TLS handshake that never completes gives "Timeout while connecting"', async () => {
    const peer = await silentPeer();
    const client = new AsyncHTTPClient({ forceInstance: true, defaults: { connectTimeout: 150 } });
    try {
      const err = await rejects(client.fetch(peer.url('/')));
      assert.equal(err.code, 599);
      assert.match(err.message, /Timeout while connecting/);
      await until(() => peer.openSockets() === 0, 'the half-open socket to close');
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

test('a per-request connectTimeout shorter than the default also closes the socket it gave up on', async () => {
  const peer = await silentPeer();
  // Default 20 s; this request allows 150 ms. The abandoned handshake must not hold its socket
  // until the default runs out.
  const client = new AsyncHTTPClient({ forceInstance: true });
  try {
    const err = await rejects(client.fetch(peer.url('/'), { connectTimeout: 150 }));
    assert.equal(err.code, 599);
    assert.match(err.message, /Timeout while connecting/);
    await until(() => peer.openSockets() === 0, 'the half-open socket to close');
  } finally {
    await client.close();
    await peer.close();
  }
});

describe('redirects', () => {
  const redirector: http.RequestListener = (req, res) => {
    const m = /^\/r\/(\d+)\/(\d+)(.*)$/.exec(req.url!);
    if (m) {
      const status = Number(m[1]);
      const left = Number(m[2]);
      res.statusCode = status;
      res.setHeader('Location', left > 1 ? `/r/${status}/${left - 1}${m[3]}` : `/echo${m[3]}`);
      res.end('redirecting');
      return;
    }
    echo(req, res);
  };

  test('302 is followed; effectiveUrl is the final URL; the request keeps its headers', () =>
    withPeer(redirector, async (peer, client) => {
      const response = await client.fetch(peer.url('/r/302/3?x=1'), { headers: { 'X-Keep': 'k' } });
      assert.equal(response.code, 200);
      assert.equal(response.effectiveUrl, peer.url('/echo?x=1'));
      assert.equal(response.timeInfo.redirects, 3);
      assert.equal(response.json<Echo>().headers['x-keep'], 'k');
    }));

  for (const status of [301, 302, 303]) {
    test(`POST becomes GET without a body after ${status}`, () =>
      withPeer(redirector, async (peer, client) => {
        const body = (
          await client.fetch(peer.url(`/r/${status}/1`), {
            method: 'POST',
            body: 'data',
            headers: { 'Content-Type': 'text/plain' },
          })
        ).json<Echo>();
        assert.equal(body.method, 'GET');
        assert.equal(body.body, '');
        assert.equal(body.headers['content-type'], undefined);
      }));
  }

  for (const status of [307, 308]) {
    test(`${status} keeps the method and body`, () =>
      withPeer(redirector, async (peer, client) => {
        const body = (
          await client.fetch(peer.url(`/r/${status}/1`), { method: 'PUT', body: 'data' })
        ).json<Echo>();
        assert.equal(body.method, 'PUT');
        assert.equal(body.body, 'data');
      }));
  }

  test('303 turns any method but HEAD into GET', () =>
    withPeer(redirector, async (peer, client) => {
      const body = (await client.fetch(peer.url('/r/303/1'), { method: 'DELETE' })).json<Echo>();
      assert.equal(body.method, 'GET');
    }));

  test('followRedirects: false returns the 3xx as an error; raiseError: false gives it back', () =>
    withPeer(redirector, async (peer, client) => {
      const err = await rejects(client.fetch(peer.url('/r/302/1'), { followRedirects: false }));
      assert.equal(err.code, 302);
      assert.equal(err.response?.headers.get('Location'), '/echo');
      const response = await client.fetch(peer.url('/r/302/1'), {
        followRedirects: false,
        raiseError: false,
      });
      assert.equal(response.code, 302);
    }));

  test('more than maxRedirects hops ends on the last 3xx', () =>
    withPeer(redirector, async (peer, client) => {
      const err = await rejects(client.fetch(peer.url('/r/302/4'), { maxRedirects: 2 }));
      assert.equal(err.code, 302);
      assert.equal(err.response?.effectiveUrl, peer.url('/r/302/2'));
      const ok = await client.fetch(peer.url('/r/302/2'), { maxRedirects: 2 });
      assert.equal(ok.code, 200);
    }));
});

describe('response bodies', () => {
  const payload = Buffer.from('hello, typhoon! '.repeat(200));
  const encoded: Record<string, Buffer> = {
    gzip: zlib.gzipSync(payload),
    deflate: zlib.deflateSync(payload),
    'deflate-raw': zlib.deflateRawSync(payload),
    br: zlib.brotliCompressSync(payload),
    'gzip, br': zlib.brotliCompressSync(zlib.gzipSync(payload)),
  };
  const compressed: http.RequestListener = (req, res) => {
    const coding = decodeURIComponent(req.url!.slice(1));
    res.setHeader('Content-Encoding', coding === 'deflate-raw' ? 'deflate' : coding);
    res.setHeader('X-Accept-Encoding', req.headers['accept-encoding'] ?? '');
    res.end(encoded[coding]);
  };

  for (const coding of Object.keys(encoded)) {
    test(`decodes ${coding}`, () =>
      withPeer(compressed, async (peer, client) => {
        const response = await client.fetch(peer.url(`/${encodeURIComponent(coding)}`));
        assert.deepEqual(response.body, payload);
        assert.equal(response.headers.get('content-encoding'), undefined);
        assert.equal(
          response.headers.get('x-consumed-content-encoding'),
          coding === 'deflate-raw' ? 'deflate' : coding,
        );
        assert.equal(response.headers.get('x-accept-encoding'), 'gzip, deflate, br');
      }));
  }

  test('HEAD of a gzip resource: no body, no decoding error', () =>
    withPeer(
      (_req, res) => {
        res.setHeader('Content-Encoding', 'gzip');
        res.setHeader('Content-Length', encoded.gzip!.length);
        res.end();
      },
      async (peer, client) => {
        const response = await client.fetch(peer.url('/gzip'), { method: 'HEAD' });
        assert.equal(response.code, 200);
        assert.equal(response.body.length, 0);
      },
    ));

  test('decompressResponse: false leaves the body encoded and asks for nothing', () =>
    withPeer(compressed, async (peer, client) => {
      const response = await client.fetch(peer.url('/gzip'), { decompressResponse: false });
      assert.deepEqual(response.body, encoded.gzip);
      assert.equal(response.headers.get('content-encoding'), 'gzip');
      assert.equal(response.headers.get('x-accept-encoding'), '');
    }));

  test('an unknown coding is passed through untouched', () =>
    withPeer(
      (_req, res) => {
        res.setHeader('Content-Encoding', 'x-custom');
        res.end('raw');
      },
      async (peer, client) => {
        const response = await client.fetch(peer.url('/'));
        assert.equal(response.text, 'raw');
        assert.equal(response.headers.get('content-encoding'), 'x-custom');
      },
    ));

  test('streamingCallback receives the chunks as they arrive and the body stays empty', () =>
    withPeer(
      (_req, res) => {
        res.write('one,');
        setTimeout(() => res.end('two'), 30);
      },
      async (peer, client) => {
        const chunks: string[] = [];
        let sawFirstBeforeEnd = false;
        const future = client.fetch(peer.url('/'), {
          streamingCallback: (chunk) => {
            chunks.push(chunk.toString());
            if (chunks.length === 1) sawFirstBeforeEnd = !future.done();
          },
        });
        const response = await future;
        assert.equal(chunks.join(''), 'one,two');
        assert.ok(chunks.length >= 2);
        assert.ok(sawFirstBeforeEnd);
        assert.equal(response.body.length, 0);
      },
    ));

  test('streamingCallback gets decoded chunks', () =>
    withPeer(compressed, async (peer, client) => {
      const chunks: Buffer[] = [];
      await client.fetch(peer.url('/gzip'), { streamingCallback: (c) => chunks.push(c) });
      assert.deepEqual(Buffer.concat(chunks), payload);
    }));

  test('headerCallback gets the status line, each header line, then a blank line', () =>
    withPeer(
      (_req, res) => {
        res.statusMessage = 'Fine';
        res.setHeader('X-Hdr', 'v');
        res.end('b');
      },
      async (peer, client) => {
        const lines: string[] = [];
        await client.fetch(peer.url('/'), { headerCallback: (line) => lines.push(line) });
        assert.equal(lines[0], 'HTTP/1.1 200 Fine\r\n');
        assert.ok(lines.includes('X-Hdr: v\r\n'));
        assert.equal(lines.at(-1), '\r\n');
        assert.ok(lines.slice(1, -1).every((l) => /^[^:\r\n]+: .*\r\n$/.test(l)));
      },
    ));

  test('an exception in streamingCallback fails the fetch with it as the cause', () =>
    withPeer(
      (_req, res) => res.end('data'),
      async (peer, client) => {
        const boom = new Error('consumer broke');
        const err = await rejects(
          client.fetch(peer.url('/'), {
            streamingCallback: () => {
              throw boom;
            },
          }),
        );
        assert.equal(err.code, 599);
        assert.equal(err.cause, boom);
      },
    ));
});

describe('request bodies', () => {
  test('bodyProducer streams a chunked body with backpressure', () =>
    withPeer(echo, async (peer, client) => {
      const response = await client.fetch(peer.url('/up'), {
        method: 'POST',
        bodyProducer: async (write) => {
          for (let i = 0; i < 50; i++) await write(`chunk${i};`);
          await write(Buffer.alloc(256 * 1024, 'x'));
        },
      });
      const got = response.json<Echo>();
      assert.equal(got.headers['transfer-encoding'], 'chunked');
      assert.ok(got.body.startsWith('chunk0;chunk1;'));
      assert.equal(
        got.body.length,
        Array.from({ length: 50 }, (_, i) => `chunk${i};`).join('').length + 256 * 1024,
      );
    }));

  test('a failing bodyProducer fails the fetch with 599', () =>
    withPeer(echo, async (peer, client) => {
      const err = await rejects(
        client.fetch(peer.url('/up'), {
          method: 'POST',
          bodyProducer: async (write) => {
            await write('start');
            throw new Error('producer failed');
          },
        }),
      );
      assert.equal(err.code, 599);
      assert.match(String((err.cause as Error).message), /producer failed/);
    }));
});

describe('proxy and TLS', () => {
  test('proxyHost/proxyPort send the request through an HTTP proxy, with proxy auth', async () => {
    const target = await httpPeer(echo);
    const seen: Array<{ url: string; auth: string | undefined }> = [];
    const proxy = await httpPeer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers['proxy-authorization'] });
      const upstream = http.request(
        req.url!,
        { method: req.method, headers: { ...req.headers, 'x-via-proxy': '1' } },
        (up) => {
          res.writeHead(up.statusCode!, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    const client = new AsyncHTTPClient({ forceInstance: true });
    try {
      const response = await client.fetch(target.url('/through'), {
        proxyHost: '127.0.0.1',
        proxyPort: proxy.port,
        proxyUsername: 'pu',
        proxyPassword: 'pp',
      });
      assert.equal(response.json<Echo>().headers['x-via-proxy'], '1');
      assert.equal(seen[0]!.url, target.url('/through'));
      assert.equal(seen[0]!.auth, `Basic ${Buffer.from('pu:pp').toString('base64')}`);
    } finally {
      await client.close();
      await proxy.close();
      await target.close();
    }
  });

  test('TLS: caCerts as a path, a PEM string or a Buffer; validateCert: false; default refuses an unknown CA', async () => {
    const peer = await httpsPeer((_req, res) => res.end('secure'));
    const client = new AsyncHTTPClient({ forceInstance: true });
    try {
      const url = peer.url('/').replace('127.0.0.1', 'localhost');
      const pem = readFileSync(TLS_FILES.ca);
      for (const caCerts of [TLS_FILES.ca, pem.toString(), pem]) {
        assert.equal((await client.fetch(url, { caCerts })).text, 'secure');
      }
      assert.equal((await client.fetch(url, { validateCert: false })).text, 'secure');
      const err = await rejects(client.fetch(url));
      assert.equal(err.code, 599);
      assert.match(err.message, /TLS|certificate/i);
      const missing = await rejects(client.fetch(url, { caCerts: '/nonexistent/ca.pem' }));
      assert.match(missing.message, /Cannot read ca file/);
    } finally {
      await client.close();
      await peer.close();
    }
  });
});
