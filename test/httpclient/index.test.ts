// AsyncHTTPClient against real node:http / raw TCP peers on 127.0.0.1: the shared instance,
// every request option, the maxClients queue, timeouts, redirects, decoding, streaming,
// proxies and TLS. Hostile peers live in badinput.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import {
  AsyncHTTPClient,
  HTTPRequest,
  HTTPResponse,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  REQUEST_DEFAULTS,
} from '../../src/httpclient/index.ts';
import { HTTPClientError, TimeoutError } from '../../src/errors.ts';
import { IOLoop } from '../../src/ioloop.ts';
import { HTTPHeaders } from '../../src/httputil/index.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import {
  httpPeer,
  httpsPeer,
  silentPeer,
  TLS_FILES,
  waitFor,
  type Peer,
} from '../helpers/http-peers.ts';

async function rejects(promise: PromiseLike<unknown>): Promise<HTTPClientError<HTTPResponse>> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof HTTPClientError, `expected HTTPClientError, got ${String(err)}`);
    return err as HTTPClientError<HTTPResponse>;
  }
  assert.fail('expected the fetch to reject');
}

async function withPeer(
  handler: http.RequestListener,
  fn: (peer: Peer, client: AsyncHTTPClient) => Promise<void>,
  options: ConstructorParameters<typeof AsyncHTTPClient>[0] = {},
): Promise<void> {
  const peer = await httpPeer(handler);
  const client = new AsyncHTTPClient({ ...options, forceInstance: true });
  try {
    await fn(peer, client);
  } finally {
    await client.close();
    await peer.close();
  }
}

/** Echo the request back as JSON. */
const echo: http.RequestListener = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('Content-Type', 'application/json');
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
};

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('shared instance and configuration', () => {
  test('new AsyncHTTPClient() is the loop’s shared instance; forceInstance makes a private one', async () => {
    const a = new AsyncHTTPClient();
    const b = new AsyncHTTPClient();
    const c = new AsyncHTTPClient({ forceInstance: true });
    assert.equal(a, b);
    assert.notEqual(a, c);
    await c.close();
    await a.close();
    const d = new AsyncHTTPClient();
    assert.notEqual(d, a, 'closing the shared instance forgets it');
    await d.close();
  });

  test('the shared instance is per IOLoop', async () => {
    const original = IOLoop.current();
    const a = new AsyncHTTPClient();
    const other = new IOLoop();
    IOLoop.makeCurrent(other);
    try {
      const b = new AsyncHTTPClient();
      assert.notEqual(a, b);
      await b.close();
    } finally {
      IOLoop.makeCurrent(original);
    }
    assert.equal(new AsyncHTTPClient(), a);
    await a.close();
  });

  test('configure() sets maxClients and defaults of later shared instances', async () => {
    AsyncHTTPClient.configure({ maxClients: 3, defaults: { userAgent: 'configured/1' } });
    try {
      const client = new AsyncHTTPClient();
      assert.equal(client.stats().maxClients, 3);
      await withPeer(echo, async (peer) => {
        const response = await client.fetch(peer.url('/'));
        assert.equal(response.json<Echo>().headers['user-agent'], 'configured/1');
      });
      await client.close();
    } finally {
      AsyncHTTPClient.configure({});
    }
    const fresh = new AsyncHTTPClient();
    assert.equal(fresh.stats().maxClients, 10);
    await fresh.close();
  });

  test('defaults are Tornado’s', () => {
    assert.equal(REQUEST_DEFAULTS.connectTimeout, 20_000);
    assert.equal(REQUEST_DEFAULTS.requestTimeout, 20_000);
    assert.equal(REQUEST_DEFAULTS.followRedirects, true);
    assert.equal(REQUEST_DEFAULTS.maxRedirects, 5);
    assert.equal(REQUEST_DEFAULTS.decompressResponse, true);
    assert.equal(REQUEST_DEFAULTS.validateCert, true);
    assert.equal(DEFAULT_MAX_BODY_SIZE, 100 * 1024 * 1024);
    assert.equal(DEFAULT_MAX_HEADER_SIZE, 64 * 1024);
    assert.throws(() => new AsyncHTTPClient({ forceInstance: true, maxClients: 0 }), RangeError);
  });
});

describe('fetch', () => {
  test('GET returns an HTTPResponse with code, reason, headers, body, text, json, timings', () =>
    withPeer(
      (req, res) => {
        res.setHeader('X-Thing', 'a');
        res.appendHeader('Set-Cookie', ['a=1', 'b=2']);
        res.end(JSON.stringify({ path: req.url }));
      },
      async (peer, client) => {
        const response = await client.fetch(peer.url('/p?q=1'));
        assert.ok(response instanceof HTTPResponse);
        assert.equal(response.code, 200);
        assert.equal(response.reason, 'OK');
        assert.ok(response.headers instanceof HTTPHeaders);
        assert.equal(response.headers.get('X-Thing'), 'a');
        assert.equal(response.headers.get('x-thing'), 'a');
        assert.deepEqual(response.headers.getList('Set-Cookie'), ['a=1', 'b=2']);
        assert.deepEqual(response.json(), { path: '/p?q=1' });
        assert.equal(response.text, '{"path":"/p?q=1"}');
        assert.ok(Buffer.isBuffer(response.body));
        assert.equal(response.effectiveUrl, peer.url('/p?q=1'));
        assert.equal(response.error, undefined);
        assert.equal(response.request.url, peer.url('/p?q=1'));
        assert.ok(response.requestTime >= 0);
        assert.ok(response.timeInfo.total >= response.timeInfo.queue);
        assert.equal(typeof response.timeInfo.startTransfer, 'number');
        response.rethrow(); // no error: does nothing
      },
    ));

  test('fetch returns a typhoon Future', () =>
    withPeer(echo, async (peer, client) => {
      const future = client.fetch(peer.url('/'));
      assert.equal(typeof future.done, 'function');
      assert.equal(future.done(), false);
      const response = await future;
      assert.equal(future.result(), response);
    }));

  test('a non-2xx status rejects with HTTPClientError carrying code and response', () =>
    withPeer(
      (_req, res) => {
        res.statusCode = 404;
        res.end('nope');
      },
      async (peer, client) => {
        const err = await rejects(client.fetch(peer.url('/missing')));
        assert.equal(err.code, 404);
        assert.match(err.message, /404/);
        assert.equal(err.response?.code, 404);
        assert.equal(err.response?.text, 'nope');
        assert.equal(err.response?.error, err);
      },
    ));

  test('raiseError: false resolves a non-2xx response with error set; rethrow() throws it', () =>
    withPeer(
      (_req, res) => {
        res.statusCode = 500;
        res.end('boom');
      },
      async (peer, client) => {
        const response = await client.fetch(peer.url('/'), { raiseError: false });
        assert.equal(response.code, 500);
        assert.ok(response.error instanceof HTTPClientError);
        assert.equal(response.error.code, 500);
        assert.throws(() => response.rethrow(), HTTPClientError);
      },
    ));

  test('a network failure rejects with 599 and the cause, even with raiseError: false', async () => {
    const peer = await httpPeer(echo);
    const url = peer.url('/');
    await peer.close(); // nothing listens there any more
    const client = new AsyncHTTPClient({ forceInstance: true });
    try {
      const err = await rejects(client.fetch(url, { raiseError: false }));
      assert.equal(err.code, 599);
      assert.match(err.message, /Connection refused/);
      assert.equal((err.cause as { code?: string }).code, 'ECONNREFUSED');
      assert.equal(err.response, undefined);
    } finally {
      await client.close();
    }
  });

  test('options.callback receives the response on success and on failure', () =>
    withPeer(
      (req, res) => {
        res.statusCode = req.url === '/bad' ? 503 : 200;
        res.end('x');
      },
      async (peer, client) => {
        const got: HTTPResponse[] = [];
        const done = new Promise<void>((resolve) => {
          const callback = (response: HTTPResponse) => {
            got.push(response);
            if (got.length === 2) resolve();
          };
          void client.fetch(peer.url('/ok'), { callback });
          // The Future of a failed fetch rejects, but with a callback nobody has to await it.
          void client.fetch(peer.url('/bad'), { callback });
        });
        await done;
        got.sort((a, b) => a.code - b.code);
        assert.equal(got[0]!.code, 200);
        assert.equal(got[0]!.error, undefined);
        assert.equal(got[1]!.code, 503);
        assert.ok(got[1]!.error instanceof HTTPClientError);
      },
    ));

  test('options.callback also receives a 599 response when the connection fails', async () => {
    const peer = await httpPeer(echo);
    const url = peer.url('/');
    await peer.close();
    const client = new AsyncHTTPClient({ forceInstance: true });
    try {
      const response = await new Promise<HTTPResponse>((resolve) => {
        void client.fetch(url, { callback: resolve });
      });
      assert.equal(response.code, 599);
      assert.ok(response.error instanceof HTTPClientError);
      assert.match(response.error.message, /Connection refused/);
      assert.throws(() => response.rethrow(), HTTPClientError);
    } finally {
      await client.close();
    }
  });

  test('POST sends the body with a default form Content-Type; PUT keeps a given one', () =>
    withPeer(echo, async (peer, client) => {
      const post = (
        await client.fetch(peer.url('/f'), { method: 'POST', body: 'a=1&b=2' })
      ).json<Echo>();
      assert.equal(post.method, 'POST');
      assert.equal(post.body, 'a=1&b=2');
      assert.equal(post.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.equal(post.headers['content-length'], '7');
      const put = (
        await client.fetch(peer.url('/f'), {
          method: 'put',
          body: Buffer.from('{"x":1}'),
          headers: { 'Content-Type': 'application/json' },
        })
      ).json<Echo>();
      assert.equal(put.method, 'PUT');
      assert.equal(put.body, '{"x":1}');
      assert.equal(put.headers['content-type'], 'application/json');
    }));

  test('a body with GET or none with POST is refused unless allowNonstandardMethods', () =>
    withPeer(echo, async (peer, client) => {
      const get = await rejects(client.fetch(peer.url('/'), { body: 'x' }));
      assert.equal(get.code, 599);
      assert.match(get.message, /Body must be undefined for method GET/);
      const post = await rejects(client.fetch(peer.url('/'), { method: 'POST' }));
      assert.match(post.message, /Body must not be undefined for method POST/);
      const odd = await rejects(client.fetch(peer.url('/'), { method: 'PROPFIND' }));
      assert.match(odd.message, /allowNonstandardMethods/);
      assert.equal(peer.connections(), 0, 'nothing was sent');
      const ok = await client.fetch(peer.url('/'), {
        method: 'PROPFIND',
        body: 'x',
        allowNonstandardMethods: true,
      });
      assert.equal(ok.json<Echo>().method, 'PROPFIND');
      assert.equal(ok.json<Echo>().body, 'x');
    }));

  test('headers from an object, a Map or pairs; userAgent, ifModifiedSince, defaults', () =>
    withPeer(
      echo,
      async (peer, client) => {
        const a = (
          await client.fetch(peer.url('/'), {
            headers: { 'X-One': '1', 'X-Many': ['a', 'b'] },
            userAgent: 'agent/2',
            ifModifiedSince: new Date(Date.UTC(2020, 0, 2, 3, 4, 5)),
          })
        ).json<Echo>();
        assert.equal(a.headers['x-one'], '1');
        assert.equal(a.headers['x-many'], 'a, b');
        assert.equal(a.headers['user-agent'], 'agent/2');
        assert.equal(a.headers['if-modified-since'], 'Thu, 02 Jan 2020 03:04:05 GMT');
        assert.equal(a.headers['x-default'], 'd', 'client default header');
        const b = (
          await client.fetch(peer.url('/'), { headers: new Map([['X-Map', 'm']]) })
        ).json<Echo>();
        assert.equal(b.headers['x-map'], 'm');
        assert.equal(b.headers['user-agent'], 'typhoon/0.1');
        const c = (
          await client.fetch(peer.url('/'), { headers: [['X-Pair', 'p']] as [string, string][] })
        ).json<Echo>();
        assert.equal(c.headers['x-pair'], 'p');
        const d = (
          await client.fetch(peer.url('/'), { headers: { 'X-Default': 'mine' } })
        ).json<Echo>();
        assert.equal(d.headers['x-default'], 'mine', 'request headers override defaults');
      },
      { defaults: { headers: { 'X-Default': 'd' } } },
    ));

  test('basic auth from options and from the URL', () =>
    withPeer(echo, async (peer, client) => {
      const a = (
        await client.fetch(peer.url('/'), { authUsername: 'ann', authPassword: 's3cret' })
      ).json<Echo>();
      assert.equal(
        a.headers.authorization,
        `Basic ${Buffer.from('ann:s3cret').toString('base64')}`,
      );
      const url = peer.url('/').replace('http://', 'http://bob:pw%40x@');
      const response = await client.fetch(url);
      assert.equal(
        response.json<Echo>().headers.authorization,
        `Basic ${Buffer.from('bob:pw@x').toString('base64')}`,
      );
      assert.equal(response.effectiveUrl, peer.url('/'), 'credentials are not kept in the URL');
    }));

  test('an HTTPRequest object is fetched as is; request options next to it are refused', () =>
    withPeer(echo, async (peer, client) => {
      const request = new HTTPRequest(peer.url('/obj'), { method: 'PATCH', body: 'z' });
      assert.equal(request.connectTimeout, undefined, 'unset options stay unset');
      const response = await client.fetch(request);
      assert.equal(response.request, request);
      assert.equal(response.json<Echo>().method, 'PATCH');
      const err = await rejects(client.fetch(request, { method: 'GET' }));
      assert.match(err.message, /cannot be combined/);
    }));

  test('keep-alive: sequential requests reuse one connection', () =>
    withPeer(echo, async (peer, client) => {
      // undici checks an idle socket for a pending FIN for one turn of the loop before it
      // reuses it (GHSA-35p6-xmwp-9g52), so give it that turn between requests.
      for (let i = 0; i < 5; i++) {
        await client.fetch(peer.url(`/${i}`));
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(peer.connections(), 1);
    }));

  test('close(): in-flight requests fail with 599 and later fetches are refused', async () => {
    const peer = await httpPeer(() => undefined); // never answers
    const client = new AsyncHTTPClient({ forceInstance: true });
    const pending = client.fetch(peer.url('/'));
    await waitFor(() => peer.connections() === 1, 'the request to connect');
    await client.close();
    const err = await rejects(pending);
    assert.equal(err.code, 599);
    assert.match(err.message, /closed/);
    const after = await rejects(client.fetch(peer.url('/')));
    assert.match(after.message, /closed AsyncHTTPClient/);
    await waitFor(() => peer.openSockets() === 0, 'the socket to close');
    await peer.close();
  });
  test('cancelling the Future aborts the request and frees its slot or queue place', async () => {
    const peer = await httpPeer(() => undefined); // never answers
    const client = new AsyncHTTPClient({ forceInstance: true, maxClients: 1 });
    try {
      await expectLog(appLog, /maxClients/, async () => {
        const running = client.fetch(peer.url('/running'));
        const queued = client.fetch(peer.url('/queued'));
        assert.deepEqual(client.stats(), { inFlight: 1, queued: 1, maxClients: 1 });
        await waitFor(() => peer.connections() === 1, 'the first request to connect');
        assert.equal(queued.cancel(), true);
        await new Promise((resolve) => setTimeout(resolve, 10));
        assert.deepEqual(client.stats(), { inFlight: 1, queued: 0, maxClients: 1 });
        assert.equal(running.cancel(), true);
        await waitFor(() => client.stats().inFlight === 0, 'the slot to be freed');
        await waitFor(() => peer.openSockets() === 0, 'the aborted socket to close');
        await assert.rejects(running, { name: 'CancelledError' });
      });
    } finally {
      await client.close();
      await peer.close();
    }
  });
});

describe('maxClients queue', () => {
  test('at most maxClients in flight, the rest queued in order; stats(); one warning', async () => {
    const order: string[] = [];
    const held: http.ServerResponse[] = [];
    await withPeer(
      (req, res) => {
        order.push(req.url!);
        held.push(res);
      },
      async (peer, client) => {
        await expectLog(appLog, /requests in flight \(maxClients\)/, async () => {
          const futures = [1, 2, 3, 4, 5].map((i) => client.fetch(peer.url(`/${i}`)));
          assert.deepEqual(client.stats(), { inFlight: 2, queued: 3, maxClients: 2 });
          futures.push(client.fetch(peer.url('/6')));
          assert.deepEqual(client.stats(), { inFlight: 2, queued: 4, maxClients: 2 });
          await waitFor(() => held.length === 2, 'two requests at the server');
          await new Promise((resolve) => setTimeout(resolve, 30));
          assert.equal(held.length, 2, 'no third request reaches the server');
          // Each finished request frees its slot for the next one in line.
          for (let served = 0; served < 6; served++) {
            await waitFor(() => held.length > 0, 'a held request');
            held.shift()!.end('ok');
          }
          const responses = await Promise.all(futures);
          assert.equal(responses.length, 6);
          assert.deepEqual([...order].sort(), ['/1', '/2', '/3', '/4', '/5', '/6']);
          assert.deepEqual(client.stats(), { inFlight: 0, queued: 0, maxClients: 2 });
        });
      },
      { maxClients: 2 },
    );
  });

  test('queued requests start in the order they were fetched', async () => {
    const order: string[] = [];
    await withPeer(
      (req, res) => {
        order.push(req.url!);
        setTimeout(() => res.end('ok'), 2);
      },
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const futures = Array.from({ length: 8 }, (_, i) => client.fetch(peer.url(`/${i}`)));
          assert.equal(client.stats().queued, 7);
          await Promise.all(futures);
        });
        assert.deepEqual(order, ['/0', '/1', '/2', '/3', '/4', '/5', '/6', '/7']);
      },
      { maxClients: 1 },
    );
  });

  test('time in the queue counts against queueTimeout: 599 "Timeout in request queue"', async () => {
    const held: http.ServerResponse[] = [];
    await withPeer(
      (_req, res) => held.push(res),
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const first = client.fetch(peer.url('/slow'));
          const second = client.fetch(peer.url('/queued'), { queueTimeout: 100 });
          assert.equal(client.stats().queued, 1);
          const err = await rejects(second);
          assert.equal(err.code, 599);
          assert.match(err.message, /Timeout in request queue/);
          assert.ok(err.cause instanceof TimeoutError);
          assert.equal(client.stats().queued, 0);
          held[0]!.end('done');
          assert.equal((await first).text, 'done');
        });
      },
      { maxClients: 1 },
    );
  });

  test('queueTimeout defaults to requestTimeout', async () => {
    const held: http.ServerResponse[] = [];
    await withPeer(
      (_req, res) => held.push(res),
      async (peer, client) => {
        await expectLog(appLog, /maxClients/, async () => {
          const first = client.fetch(peer.url('/slow'), { requestTimeout: 5000 });
          const started = performance.now();
          const err = await rejects(client.fetch(peer.url('/q'), { requestTimeout: 150 }));
          assert.match(err.message, /Timeout in request queue/);
          assert.ok(performance.now() - started >= 140);
          held[0]!.end();
          await first;
        });
      },
      { maxClients: 1 },
    );
  });
});

describe('timeouts', () => {
  test('requestTimeout: a server that never answers gives 599 "Timeout during request"', () =>
    withPeer(
      () => undefined,
      async (peer, client) => {
        const err = await rejects(client.fetch(peer.url('/'), { requestTimeout: 150 }));
        assert.equal(err.code, 599);
        assert.match(err.message, /Timeout during request/);
        assert.ok(err.cause instanceof TimeoutError);
        await waitFor(() => peer.openSockets() === 0, 'the timed-out socket to close');
      },
    ));

  test('connectTimeout: a TLS handshake that never completes gives "Timeout while connecting"', async () => {
    const peer = await silentPeer();
    const client = new AsyncHTTPClient({ forceInstance: true, defaults: { connectTimeout: 150 } });
    try {
      const err = await rejects(client.fetch(peer.url('/')));
      assert.equal(err.code, 599);
      assert.match(err.message, /Timeout while connecting/);
      await waitFor(() => peer.openSockets() === 0, 'the half-open socket to close');
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
    await waitFor(() => peer.openSockets() === 0, 'the half-open socket to close');
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
