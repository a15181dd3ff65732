// XSRF protection over real requests: the `_xsrf` cookie and masked tokens, every way a token
// can be submitted, 403 on a forged request, the check's place in the lifecycle (after the 405,
// before prepare) and the methods it leaves alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { decodeXsrfToken } from '../../src/web/xsrf.ts';
import { startTestServer, type TestServer } from '../../src/testing.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { withTestServer } from '../helpers/server.ts';

const prepared: string[] = [];

class Form extends RequestHandler {
  override prepare() {
    prepared.push(this.request.method);
  }
  override get() {
    this.write(`<form method="post">${this.xsrfFormHtml()}</form>|${this.xsrfToken}`);
  }
  override post() {
    this.write('posted');
  }
  override put() {
    this.write('put');
  }
  override options() {
    this.write('options');
  }
}

class NoPost extends RequestHandler {
  static override SUPPORTED_METHODS = ['GET'];
  override prepare() {
    prepared.push('NoPost');
  }
}

class Exempt extends RequestHandler {
  override checkXsrfCookie(): void {}
  override post() {
    this.write('exempt');
  }
}

function app(settings: Record<string, unknown> = {}): Application {
  return new Application(
    [
      ['/form', Form],
      ['/nopost', NoPost],
      ['/exempt', Exempt],
    ],
    { xsrfCookies: true, ...settings },
  );
}

/** GET the form: the `_xsrf` cookie value and the token embedded in the page. */
async function getForm(srv: TestServer, cookie?: string) {
  const res = await srv.fetch('/form', cookie ? { headers: { Cookie: cookie } } : {});
  const text = await res.text();
  const embedded = text.slice(text.indexOf('</form>|') + '</form>|'.length);
  const setCookie = res.headers.getSetCookie();
  const cookieValue = setCookie.length > 0 ? /^_xsrf=([^;]+)/.exec(setCookie[0]!)![1]! : null;
  return { text, embedded, setCookie, cookieValue };
}

function post(
  srv: TestServer,
  init: { cookie?: string; body?: string; headers?: Record<string, string> },
) {
  const headers: Record<string, string> = { ...init.headers };
  if (init.cookie !== undefined) headers.Cookie = init.cookie;
  if (init.body !== undefined) headers['Content-Type'] = 'application/x-www-form-urlencoded';
  return srv.fetch('/form', { method: 'POST', headers, body: init.body ?? '' });
}

async function forbidden(fn: () => Promise<Response>, reason: RegExp): Promise<Response> {
  return claimLogs(
    [
      [accessLog, /^403 POST/],
      [genLog, reason],
    ],
    fn,
  );
}

test('a GET without the cookie sets _xsrf and embeds a masked v2 token of the same secret', async () => {
  await withTestServer(app(), async (srv) => {
    const { text, embedded, cookieValue } = await getForm(srv);
    assert.ok(cookieValue !== null);
    assert.match(embedded, /^2\|[0-9a-f]{8}\|[0-9a-f]{32}\|\d+$/);
    assert.ok(text.includes(`<input type="hidden" name="_xsrf" value="${embedded}"/>`));
    assert.deepEqual(decodeXsrfToken(embedded)!.token, decodeXsrfToken(cookieValue)!.token);
    // With the cookie, no new cookie, same secret, a different mask.
    const again = await getForm(srv, `_xsrf=${cookieValue}`);
    assert.deepEqual(again.setCookie, []);
    assert.notEqual(again.embedded, embedded);
    assert.deepEqual(decodeXsrfToken(again.embedded)!.token, decodeXsrfToken(cookieValue)!.token);
  });
});

test('a POST passes with the token as _xsrf argument, X-XSRFToken or X-CSRFToken header', async () => {
  await withTestServer(app(), async (srv) => {
    const { embedded, cookieValue } = await getForm(srv);
    const cookie = `_xsrf=${cookieValue}`;
    const viaForm = await post(srv, { cookie, body: `_xsrf=${encodeURIComponent(embedded)}` });
    assert.equal(viaForm.status, 200);
    assert.equal(await viaForm.text(), 'posted');
    const viaHeader = await post(srv, { cookie, headers: { 'X-XSRFToken': embedded } });
    assert.equal(viaHeader.status, 200);
    const viaCsrf = await post(srv, { cookie, headers: { 'X-CSRFToken': embedded } });
    assert.equal(viaCsrf.status, 200);
    // A version-1 (bare hex) token of the same secret is still accepted.
    const hex = decodeXsrfToken(cookieValue)!.token.toString('hex');
    assert.equal((await post(srv, { cookie, headers: { 'X-XSRFToken': hex } })).status, 200);
  });
});

test('a forged POST gets 403 and prepare() never runs', async () => {
  await withTestServer(app(), async (srv) => {
    const { embedded, cookieValue } = await getForm(srv);
    const other = await getForm(srv);
    prepared.length = 0;
    const missing = await forbidden(
      () => post(srv, { cookie: `_xsrf=${cookieValue}` }),
      /argument missing/,
    );
    assert.equal(missing.status, 403);
    const noCookie = await forbidden(
      () => post(srv, { headers: { 'X-XSRFToken': embedded } }),
      /does not match/,
    );
    assert.equal(noCookie.status, 403);
    const mismatch = await forbidden(
      () =>
        post(srv, { cookie: `_xsrf=${cookieValue}`, headers: { 'X-XSRFToken': other.embedded } }),
      /does not match/,
    );
    assert.equal(mismatch.status, 403);
    const garbage = await forbidden(
      () => post(srv, { cookie: `_xsrf=${cookieValue}`, headers: { 'X-XSRFToken': '2|zz|zz|1' } }),
      /invalid format/,
    );
    assert.equal(garbage.status, 403);
    const put = await claimLogs(
      [
        [accessLog, /^403 PUT/],
        [genLog, /argument missing/],
      ],
      () => srv.fetch('/form', { method: 'PUT', body: 'x' }),
    );
    assert.equal(put.status, 403);
    assert.deepEqual(prepared, []);
  });
});

test('GET, HEAD and OPTIONS are never checked; a 405 comes before the XSRF check', async () => {
  await withTestServer(app(), async (srv) => {
    prepared.length = 0;
    assert.equal((await srv.fetch('/form', { method: 'OPTIONS' })).status, 200);
    assert.equal((await srv.fetch('/form')).status, 200);
    const res = await claimLogs([[accessLog, /^405 POST/]], () =>
      srv.fetch('/nopost', { method: 'POST', body: '' }),
    );
    assert.equal(res.status, 405);
    assert.deepEqual(prepared, ['OPTIONS', 'GET']);
  });
});

test('overriding checkXsrfCookie exempts a handler; without xsrfCookies nothing is checked', async () => {
  const srv = await startTestServer(app());
  const off = await startTestServer(app({ xsrfCookies: false }));
  try {
    assert.equal(await (await srv.fetch('/exempt', { method: 'POST', body: '' })).text(), 'exempt');
    assert.equal((await post(off, {})).status, 200);
  } finally {
    await srv.close();
    await off.close();
  }
});

test('xsrfCookieKwargs, xsrfCookieName and xsrfCookieVersion shape the cookie', async () => {
  const srv = await startTestServer(
    app({
      xsrfCookieName: 'csrf',
      xsrfCookieVersion: 1,
      xsrfCookieKwargs: { secure: true, sameSite: 'Strict' },
    }),
  );
  try {
    const res = await srv.fetch('/form');
    const [line] = res.headers.getSetCookie();
    assert.match(line!, /^csrf=[0-9a-f]{32}; Path=\/; SameSite=Strict; Secure$/);
    const token = /^csrf=([0-9a-f]+)/.exec(line!)![1]!;
    const ok = await post(srv, { cookie: `csrf=${token}`, headers: { 'X-XSRFToken': token } });
    assert.equal(ok.status, 200);
  } finally {
    await srv.close();
  }
});
