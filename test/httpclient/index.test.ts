// AsyncHTTPClient against real node:http peers on 127.0.0.1: the shared instance, its
// configuration, and fetch() with every request option. Hostile peers live in badinput.test.ts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  AsyncHTTPClient,
  HTTPRequest,
  HTTPResponse,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  REQUEST_DEFAULTS,
} from '../../src/httpclient/index.ts';
import { HTTPClientError } from '../../src/errors.ts';
import { IOLoop } from '../../src/ioloop.ts';
import { HTTPHeaders } from '../../src/httputil/index.ts';
import { appLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { httpPeer } from '../helpers/http-peers.ts';
import { echo, rejects, withPeer, type Echo } from '../helpers/httpclient.ts';
import { until } from '../helpers/wait.ts';

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
    await until(() => peer.connections() === 1, 'the request to connect');
    await client.close();
    const err = await rejects(pending);
    assert.equal(err.code, 599);
    assert.match(err.message, /closed/);
    const after = await rejects(client.fetch(peer.url('/')));
    assert.match(after.message, /closed AsyncHTTPClient/);
    await until(() => peer.openSockets() === 0, 'the socket to close');
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
        await until(() => peer.connections() === 1, 'the first request to connect');
        assert.equal(queued.cancel(), true);
        await new Promise((resolve) => setTimeout(resolve, 10));
        assert.deepEqual(client.stats(), { inFlight: 1, queued: 0, maxClients: 1 });
        assert.equal(running.cancel(), true);
        await until(() => client.stats().inFlight === 0, 'the slot to be freed');
        await until(() => peer.openSockets() === 0, 'the aborted socket to close');
        await assert.rejects(running, { name: 'CancelledError' });
      });
    } finally {
      await client.close();
      await peer.close();
    }
  });
});
