// The chat demo's sign-in and XSRF protection: anonymous visitors are sent to the login page
// (with `next`), the API refuses them in JSON ("sign in first"), the login form (with its XSRF
// token) sets a signed `user` cookie and returns only to a local `next`, a forged cookie is
// nobody, an XSRF failure says it is one, and logout clears the cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChat } from './start-chat.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';

const SECRET = 'chat test secret';
const signedIn = { settings: { cookieSecret: SECRET, requireSignIn: true, xsrfCookies: true } };

/** The `_xsrf` cookie the login page sets, as `name=value`, and its value. */
async function xsrf(url: (path: string) => string): Promise<{ cookie: string; token: string }> {
  const page = await fetch(url('/auth/login'));
  await page.text();
  const line = page.headers.getSetCookie().find((c) => c.startsWith('_xsrf='));
  assert.ok(line, 'the login page sets the _xsrf cookie');
  const cookie = line.slice(0, line.indexOf(';'));
  return { cookie, token: decodeURIComponent(cookie.slice('_xsrf='.length)) };
}

async function signIn(url: (path: string) => string, name: string, next = '/') {
  const { cookie, token } = await xsrf(url);
  const response = await fetch(url('/auth/login'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
    body: new URLSearchParams({ name, next, _xsrf: token }).toString(),
  });
  return { response, xsrfCookie: cookie, token };
}

test('the chat requires sign-in; the login form sets a signed cookie that opens it', async () => {
  const chat = await startChat(signedIn);
  try {
    const anonymous = await fetch(chat.url('/?room=1'), { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.get('Location'), '/auth/login?next=%2F%3Froom%3D1');
    const form = await fetch(chat.url('/auth/login?next=%2F%3Froom%3D1'));
    const html = await form.text();
    assert.match(html, /<form [^>]*method="post" action="\/auth\/login">/);
    assert.match(html, /name="next" value="\/\?room=1"/);
    assert.match(html, /<input type="hidden" name="_xsrf" value="[^"]+"\/>/);
    const style = await fetch(chat.url('/static/chat.css'), { redirect: 'manual' });
    assert.equal(style.status, 200, 'the sign-in page can load its stylesheet');
    await style.arrayBuffer();

    const { response: login, xsrfCookie, token } = await signIn(chat.url, 'Ada', '/?room=1');
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('Location'), '/?room=1');
    const [cookieLine] = login.headers.getSetCookie();
    assert.match(cookieLine!, /^user="?2\|1:0\|.*; HttpOnly; Path=\/; SameSite=Lax$/);
    const user = cookieLine!.slice(0, cookieLine!.indexOf(';'));
    const cookie = `${user}; ${xsrfCookie}`;
    const page = await fetch(chat.url('/'), { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Sign out \(Ada\)/);
    const posted = await fetch(chat.url('/a/message/new'), {
      method: 'POST',
      headers: { Cookie: cookie, 'X-XSRFToken': token },
      body: new URLSearchParams({ body: 'hello' }),
    });
    assert.equal(posted.status, 200);
    assert.equal(
      ((await posted.json()) as { author: unknown }).author,
      'Ada',
      'signed by its author',
    );
    const forged = await fetch(chat.url('/'), {
      headers: { Cookie: user.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) },
      redirect: 'manual',
    });
    assert.equal(forged.status, 302);

    const logout = await fetch(chat.url('/auth/logout'), {
      method: 'POST',
      headers: { Cookie: cookie, 'X-XSRFToken': token },
      redirect: 'manual',
    });
    assert.equal(logout.headers.get('Location'), '/auth/login');
    assert.match(logout.headers.getSetCookie()[0]!, /^user=; .*Max-Age=0/);
  } finally {
    await chat.close();
  }
});

test('the API answers an anonymous caller 403 {"error": "sign in first"}, never the login page', async () => {
  const chat = await startChat(signedIn);
  try {
    const calls: Array<[string, RequestInit]> = [
      ['/a/message/new', { method: 'POST', body: new URLSearchParams({ body: 'hi' }) }],
      ['/a/message/updates?cursor=0@x', {}],
      ['/a/message/events', { headers: { Accept: 'text/event-stream' } }],
      ['/a/message/history', {}],
    ];
    for (const [path, init] of calls) {
      const method = init.method ?? 'GET';
      const refused = await claimLogs(
        [
          [accessLog, new RegExp(`^403 ${method}`)],
          [genLog, /sign in first/],
        ],
        () => fetch(chat.url(path), { ...init, redirect: 'manual' }),
      );
      assert.equal(refused.status, 403, path);
      assert.match(refused.headers.get('content-type') ?? '', /^application\/json/, path);
      assert.deepEqual(await refused.json(), { error: 'sign in first' }, path);
    }
  } finally {
    await chat.close();
  }
});

test('an XSRF failure answers JSON that says it is one', async () => {
  const chat = await startChat(signedIn);
  try {
    const { response, xsrfCookie, token } = await signIn(chat.url, 'Grace');
    const [line] = response.headers.getSetCookie();
    const user = line!.slice(0, line!.indexOf(';'));
    const cases: Array<[string, Record<string, string>]> = [
      ['no token at all', { Cookie: user }],
      ['a token but no cookie', { Cookie: user, 'X-XSRFToken': token }],
      ['a cookie but no token', { Cookie: `${user}; ${xsrfCookie}` }],
      ['a token that differs', { Cookie: `${user}; ${xsrfCookie}`, 'X-XSRFToken': 'forged' }],
    ];
    for (const [what, headers] of cases) {
      const refused = await claimLogs(
        [
          [accessLog, /^403 POST/],
          [genLog, /XSRF/],
        ],
        () =>
          fetch(chat.url('/a/message/new'), {
            method: 'POST',
            headers,
            body: new URLSearchParams({ body: 'hi' }),
          }),
      );
      assert.equal(refused.status, 403, what);
      const { error } = (await refused.json()) as { error: string };
      assert.match(error, /^XSRF check failed: /, what);
    }
  } finally {
    await chat.close();
  }
});

test('the login page never redirects off the site, and refuses bad names', async () => {
  const chat = await startChat(signedIn);
  try {
    for (const next of [
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\r\nX: y',
    ]) {
      const { response: login } = await signIn(chat.url, 'Grace', next);
      assert.equal(login.status, 302, next);
      assert.equal(login.headers.get('Location'), '/', next);
    }
    for (const name of ['', ' ', 'x'.repeat(33), '<script>', 'a;b']) {
      const { response: refused } = await claimLogs(
        [
          [accessLog, /^400 POST/],
          [genLog, /a name is/],
        ],
        () => signIn(chat.url, name),
      );
      assert.equal(refused.status, 400, name);
      assert.deepEqual(refused.headers.getSetCookie(), [], name);
      await refused.arrayBuffer();
    }
  } finally {
    await chat.close();
  }
});
