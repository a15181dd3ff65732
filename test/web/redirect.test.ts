// Open redirects through redirect() and RedirectHandler: a Location that began as a path must
// never be read by a browser as another host (URL parsers drop tab, CR and LF and treat `\`
// as `/`), while an absolute URL given on purpose stays allowed, as in Tornado.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, RedirectHandler, RequestHandler } from '../../src/web/index.ts';
import { startTestServer } from '../../src/testing.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { get, parseResponses, sendRaw } from '../helpers/raw-http.ts';

async function location(port: number, path: string): Promise<[number, string | undefined]> {
  const result = await sendRaw(port, get(path), { timeout: 2000 });
  const response = parseResponses(result.text)[0];
  assert.ok(response, `no response for ${path}: ${JSON.stringify(result.text)}`);
  return [response.status, response.headers.location];
}

/** A query argument as sent (getArgument would replace the control characters under test). */
function rawArgument(handler: RequestHandler, name: string): string {
  return handler.request.queryArguments[name]![0]!.toString('utf8');
}

/** Where a browser would go: WHATWG URL parsing of the Location against the page. */
function browserTarget(value: string): string {
  return new URL(value, 'http://victim.example/old/x').host;
}

test('RedirectHandler: a tab, CR, LF or backslash from the path cannot make Location another host', async () => {
  const app = new Application([['/old/(.*)', RedirectHandler, { url: '/{0}' }]]);
  const srv = await startTestServer(app);
  try {
    for (const path of [
      '/old/%09/evil.com',
      '/old/%0d/evil.com',
      '/old/%0a/evil.com',
      '/old/%5Cevil.com',
      '/old/%5C%5Cevil.com',
      '/old/%09%5Cevil.com',
    ]) {
      const [status, loc] = await location(srv.port, path);
      assert.equal(status, 301, path);
      assert.ok(loc !== undefined, path);
      assert.doesNotMatch(loc, /[\t\r\n\\]/, `${path} → ${JSON.stringify(loc)}`);
      assert.equal(browserTarget(loc), 'victim.example', `${path} → ${JSON.stringify(loc)}`);
    }
    // An ordinary path still redirects where it should.
    assert.deepEqual(await location(srv.port, '/old/a/b'), [301, '/a/b']);
  } finally {
    await srv.close();
  }
});

test('redirect(): control characters and backslashes are percent-encoded, the rest kept', async () => {
  class Go extends RequestHandler {
    override get() {
      this.redirect(rawArgument(this, 'to'));
    }
  }
  const srv = await startTestServer(new Application([['/go', Go]]));
  try {
    const cases: Array<[string, string]> = [
      ['/a\tb', '/a%09b'],
      ['/a\\b', '/a%5Cb'],
      ['/a\r\nb', '/a%0D%0Ab'],
      ['/x?y=1&z=%20', '/x?y=1&z=%20'],
      ['https://other.example/path', 'https://other.example/path'],
      ['/a b\x01', '/a%20b%01'],
    ];
    for (const [to, want] of cases) {
      const [status, loc] = await location(srv.port, `/go?to=${encodeURIComponent(to)}`);
      assert.equal(status, 302, to);
      assert.equal(loc, want, JSON.stringify(to));
    }
  } finally {
    await srv.close();
  }
});

test('redirect(): a relative Location that would still begin with // or /\\ is refused with a logged 500', async () => {
  class Go extends RequestHandler {
    override get() {
      this.redirect(rawArgument(this, 'to'));
    }
  }
  const srv = await startTestServer(new Application([['/go', Go]]));
  try {
    for (const to of [
      '//evil.com',
      '///evil.com',
      '/\t/evil.com',
      '/\\evil.com',
      '/\r\n/evil.com',
      '\t//evil.com',
      '/\\\\evil.com',
    ]) {
      await claimLogs(
        [
          [appLog, /^Uncaught exception GET \/go/],
          [accessLog, /^500 GET \/go/],
        ],
        async () => {
          const [status, loc] = await location(srv.port, `/go?to=${encodeURIComponent(to)}`);
          assert.equal(status, 500, JSON.stringify(to));
          assert.equal(loc, undefined);
        },
      );
    }
  } finally {
    await srv.close();
  }
});

test('RedirectHandler: a path group that makes the target begin with // goes to the path, not to that host', async () => {
  const app = new Application([['/old/(.*)', RedirectHandler, { url: '/{0}' }]]);
  const srv = await startTestServer(app);
  try {
    // `{0}` is `/evil.com` or `//evil.com`: the target would begin with `//`.
    for (const path of ['/old//evil.com', '/old///evil.com']) {
      const [status, loc] = await location(srv.port, path);
      assert.equal(status, 301, path);
      assert.equal(loc, '/evil.com', path);
    }
  } finally {
    await srv.close();
  }
});

test('RedirectHandler: a url pattern that yields //host is refused with a logged 500', async () => {
  // The pattern itself begins with `//`, so the handler cannot tell a host from a path; as in
  // redirect(), an off-site target must name its scheme.
  const app = new Application([['/cdn/(.*)', RedirectHandler, { url: '//{0}' }]]);
  const srv = await startTestServer(app);
  try {
    await claimLogs(
      [
        [appLog, /^Uncaught exception GET \/cdn\/evil\.com/],
        [accessLog, /^500 GET \/cdn\/evil\.com/],
      ],
      async () => {
        const [status, loc] = await location(srv.port, '/cdn/evil.com');
        assert.equal(status, 500);
        assert.equal(loc, undefined);
      },
    );
  } finally {
    await srv.close();
  }
});

test('redirect(): an absolute URL given on purpose stays allowed, as in Tornado', async () => {
  class Go extends RequestHandler {
    override get(which: string) {
      if (which === 'abs') this.redirect('https://other.example/');
      else this.redirect('http://other.example:8080/a\\b', { permanent: true });
    }
  }
  const srv = await startTestServer(new Application([['/(abs|port)', Go]]));
  try {
    assert.deepEqual(await location(srv.port, '/abs'), [302, 'https://other.example/']);
    assert.deepEqual(await location(srv.port, '/port'), [301, 'http://other.example:8080/a%5Cb']);
  } finally {
    await srv.close();
  }
});
