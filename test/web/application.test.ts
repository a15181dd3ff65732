// Application: routing to handlers end to end over real sockets, reverse URLs, host rules,
// the default handler, listen(), and the access log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, RequestHandler, url } from '../../src/web/index.ts';
import { startTestServer, expectLog } from '../../src/testing.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { captureLogs, get, parseResponses, sendRaw } from '../helpers/raw-http.ts';
import { withTestServer } from '../helpers/server.ts';

class Hello extends RequestHandler {
  override get() {
    this.write('Hello, world');
  }
}

class Echo extends RequestHandler {
  override get(...args: Array<string | undefined>) {
    this.write({ args, kwargs: { ...this.pathKwargs } });
  }
}

class Named extends RequestHandler {
  override get(kw: unknown) {
    this.write({ kw: kw as Record<string, string> });
  }
}

class Greeter extends RequestHandler {
  #greeting = '';
  override initialize(initArgs: object) {
    this.#greeting = (initArgs as { greeting: string }).greeting;
  }
  override get() {
    this.write(this.#greeting);
  }
}

test('routes the path to the matching handler and answers 404 otherwise', async () => {
  await withTestServer(new Application([['/', Hello]]), async (srv) => {
    const ok = await srv.fetch('/');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'Hello, world');
    await expectLog(accessLog, /^404 GET \/missing/, async () => {
      const missing = await srv.fetch('/missing');
      assert.equal(missing.status, 404);
      assert.equal(
        await missing.text(),
        '<html><title>404: Not Found</title><body>404: Not Found</body></html>',
      );
    });
  });
});

test('patterns are anchored at both ends', async () => {
  await withTestServer(new Application([['/a', Hello]]), async (srv) => {
    await expectLog(accessLog, /^404/, async () => {
      assert.equal((await srv.fetch('/ab')).status, 404);
      assert.equal((await srv.fetch('/x/a')).status, 404);
    });
    assert.equal((await srv.fetch('/a')).status, 200);
  });
});

test('positional groups become arguments, percent-decoded once; unmatched optional group is undefined', async () => {
  await withTestServer(new Application([['/p/([^/]+)/(\\d+)?', Echo]]), async (srv) => {
    const res = await srv.fetch('/p/a%2520b%C3%A9/');
    assert.deepEqual(await res.json(), { args: ['a%20bé', null], kwargs: {} });
    const res2 = await srv.fetch('/p/x/42');
    assert.deepEqual(await res2.json(), { args: ['x', '42'], kwargs: {} });
  });
});

test('named groups become one object argument and pathKwargs', async () => {
  await withTestServer(new Application([['/u/(?<user>\\w+)/(?<id>\\d+)', Named]]), async (srv) => {
    const res = await srv.fetch('/u/bob/7');
    assert.deepEqual(await res.json(), { kw: { user: 'bob', id: '7' } });
  });
});

test('initArgs reach initialize(); url() rules and reverseUrl', async () => {
  const app = new Application([
    url('/hi', Greeter, { greeting: 'hey' }, 'hi'),
    ['/story/(\\d+)/(\\w+)', Echo, null, 'story'],
    url('/user/(?<name>[a-z ]+)', Named, {}, 'user'),
  ]);
  assert.equal(app.reverseUrl('hi'), '/hi');
  assert.equal(app.reverseUrl('story', 12, 'x y'), '/story/12/x%20y');
  assert.equal(app.reverseUrl('user', { name: 'a b' }), '/user/a%20b');
  assert.throws(() => app.reverseUrl('nope'), /not found/);
  assert.throws(() => app.reverseUrl('story', 1), /needs 2 arguments/);
  await withTestServer(app, async (srv) => {
    assert.equal(await (await srv.fetch('/hi')).text(), 'hey');
  });
});

test('addHandlers routes by host name before the default rules', async () => {
  class Other extends RequestHandler {
    override get() {
      this.write('other host');
    }
  }
  const app = new Application([['/', Hello]]);
  app.addHandlers('www\\.example\\.com', [['/', Other]]);
  await withTestServer(app, async (srv) => {
    assert.equal(await (await srv.fetch('/')).text(), 'Hello, world');
    const raw = await sendRaw(
      srv.port,
      get('/', { Host: 'www.example.com:8080' }).replace('Host: 127.0.0.1\r\n', ''),
    );
    assert.equal(parseResponses(raw.text)[0]?.body, 'other host');
  });
});

test('defaultHandlerClass serves unmatched paths', async () => {
  const app = new Application([['/', Hello]], {
    defaultHandlerClass: Greeter,
    defaultHandlerArgs: { greeting: 'fallback' },
  });
  await withTestServer(app, async (srv) => {
    assert.equal(await (await srv.fetch('/anything')).text(), 'fallback');
  });
});

test('listen() resolves to a running HTTPServer', async () => {
  const app = new Application([['/', Hello]]);
  const server = await app.listen(0, '127.0.0.1');
  try {
    const port = server.address()!.port;
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(await res.text(), 'Hello, world');
  } finally {
    await server.stop();
  }
});

test('access log: one line per request in Tornado format, level by status', async () => {
  class Fail extends RequestHandler {
    override get() {
      throw new Error('boom');
    }
  }
  const srv = await startTestServer(
    new Application([
      ['/', Hello],
      ['/fail', Fail],
    ]),
  );
  let records;
  try {
    [, records] = await captureLogs('access', async () => {
      await srv.fetch('/').then((r) => r.text());
      await srv.fetch('/nope?x=1').then((r) => r.text());
      await expectLog(appLog, /Uncaught exception GET \/fail/, async () => {
        await srv.fetch('/fail').then((r) => r.text());
      });
    });
  } finally {
    await srv.close();
  }
  assert.equal(records.length, 3);
  assert.match(records[0]!.message, /^200 GET \/ \(127\.0\.0\.1\) \d+\.\d{2}ms$/);
  assert.equal(records[0]!.level, 'info');
  assert.match(records[1]!.message, /^404 GET \/nope\?x=1 \(127\.0\.0\.1\) \d+\.\d{2}ms$/);
  assert.equal(records[1]!.level, 'warning');
  assert.match(records[2]!.message, /^500 GET \/fail \(127\.0\.0\.1\) \d+\.\d{2}ms$/);
  assert.equal(records[2]!.level, 'error');
});

test('logFunction replaces the access log', async () => {
  const seen: string[] = [];
  const app = new Application([['/', Hello]], {
    logFunction: (h) => seen.push(`${h.getStatus()} ${h.request.path}`),
  });
  const srv = await startTestServer(app);
  try {
    await expectLog(accessLog, /.*/, () => srv.fetch('/zzz').then((r) => r.text()), {
      required: false,
    });
    await srv.fetch('/').then((r) => r.text());
  } finally {
    await srv.close();
  }
  assert.deepEqual(seen, ['404 /zzz', '200 /']);
});

test('startTestServer mounts a bare RequestHandler class on every path', async () => {
  await withTestServer(Hello, async (srv) => {
    assert.equal(await (await srv.fetch('/any/path')).text(), 'Hello, world');
    assert.match(srv.url('/x'), /^http:\/\/127\.0\.0\.1:\d+\/x$/);
  });
});
