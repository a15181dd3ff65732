// The chat demo's sign-in: anonymous visitors are sent to the login page (with `next`), the API
// refuses them, the login form sets a signed `user` cookie and returns only to a local `next`,
// a forged cookie is nobody, and logout clears the cookie.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startChat } from './start-chat.ts';
import { accessLog, genLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';

const SECRET = 'chat test secret';

async function signIn(url: (path: string) => string, name: string, next = '/') {
  return fetch(url('/auth/login'), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ name, next }).toString(),
  });
}

test('the chat requires sign-in; the login form sets a signed cookie that opens it', async () => {
  const chat = await startChat({ settings: { cookieSecret: SECRET, requireSignIn: true } });
  try {
    const anonymous = await fetch(chat.url('/?room=1'), { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.get('Location'), '/auth/login?next=%2F%3Froom%3D1');
    const form = await fetch(chat.url('/auth/login?next=%2F%3Froom%3D1'));
    const html = await form.text();
    assert.match(html, /<form [^>]*method="post" action="\/auth\/login">/);
    assert.match(html, /name="next" value="\/\?room=1"/);
    const style = await fetch(chat.url('/static/chat.css'), { redirect: 'manual' });
    assert.equal(style.status, 200, 'the sign-in page can load its stylesheet');
    const refused = await claimLogs([[accessLog, /^403 POST/]], () =>
      fetch(chat.url('/a/message/new'), {
        method: 'POST',
        body: new URLSearchParams({ body: 'hi' }),
      }),
    );
    assert.equal(refused.status, 403);

    const login = await signIn(chat.url, 'Ada', '/?room=1');
    assert.equal(login.status, 302);
    assert.equal(login.headers.get('Location'), '/?room=1');
    const [cookieLine] = login.headers.getSetCookie();
    assert.match(cookieLine!, /^user="?2\|1:0\|.*; HttpOnly; Path=\/; SameSite=Lax$/);
    const cookie = cookieLine!.slice(0, cookieLine!.indexOf(';'));
    const page = await fetch(chat.url('/'), { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    const posted = await fetch(chat.url('/a/message/new'), {
      method: 'POST',
      headers: { Cookie: cookie },
      body: new URLSearchParams({ body: 'hello' }),
    });
    assert.equal(posted.status, 200);
    assert.equal(
      ((await posted.json()) as { author: unknown }).author,
      'Ada',
      'signed by its author',
    );
    const forged = await fetch(chat.url('/'), {
      headers: { Cookie: cookie.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) },
      redirect: 'manual',
    });
    assert.equal(forged.status, 302);

    const logout = await fetch(chat.url('/auth/logout'), {
      method: 'POST',
      headers: { Cookie: cookie },
      redirect: 'manual',
    });
    assert.equal(logout.headers.get('Location'), '/auth/login');
    assert.match(logout.headers.getSetCookie()[0]!, /^user=; .*Max-Age=0/);
  } finally {
    await chat.close();
  }
});

test('the login page never redirects off the site, and refuses bad names', async () => {
  const chat = await startChat({ settings: { cookieSecret: SECRET, requireSignIn: true } });
  try {
    for (const next of [
      '//evil.example/',
      '/\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/\r\nX: y',
    ]) {
      const login = await signIn(chat.url, 'Grace', next);
      assert.equal(login.status, 302, next);
      assert.equal(login.headers.get('Location'), '/', next);
    }
    for (const name of ['', ' ', 'x'.repeat(33), '<script>', 'a;b']) {
      const refused = await claimLogs(
        [
          [accessLog, /^400 POST/],
          [genLog, /a name is/],
        ],
        () => signIn(chat.url, name),
      );
      assert.equal(refused.status, 400, name);
      assert.deepEqual(refused.headers.getSetCookie(), [], name);
    }
  } finally {
    await chat.close();
  }
});
