// Authentication over real requests: getCurrentUser (sync and async), currentUser, and
// authenticated() redirecting GET/HEAD to loginUrl with `next`, refusing other methods with 403.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Application, RequestHandler } from '../../src/web/index.ts';
import { authenticated } from '../../src/web/auth.ts';
import { createSignedValue } from '../../src/web/signed-value.ts';
import { startTestServer } from '../../src/testing.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { withTestServer } from '../helpers/server.ts';

const SECRET = 'auth test secret';
let lookups = 0;

class Base extends RequestHandler {
  override getCurrentUser(): unknown {
    return this.getSignedCookie('user');
  }
}

class Profile extends Base {
  override get() {
    this.write({ user: this.currentUser as string });
  }
  override head() {}
  override post() {
    this.write('posted');
  }
  static {
    this.prototype.get = authenticated(this.prototype.get);
    this.prototype.head = authenticated(this.prototype.head);
    this.prototype.post = authenticated(this.prototype.post);
  }
}

class AsyncUser extends RequestHandler {
  override async getCurrentUser(): Promise<unknown> {
    lookups++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const name = this.getSignedCookie('user');
    return name === null ? null : { name };
  }
  override async get() {
    // authenticated() resolved it: the getter answers synchronously, without a second lookup.
    const user = this.currentUser as { name: string };
    this.write({ name: user.name, again: (await this.resolveCurrentUser()) === user });
  }
  static {
    this.prototype.get = authenticated(this.prototype.get);
  }
}

class GeneratorMethod extends Base {
  override *get(): Generator<unknown, void, unknown> {
    const value = yield Promise.resolve(21);
    this.write(`gen ${String((value as number) * 2)}`);
  }
  static {
    this.prototype.get = authenticated(this.prototype.get);
  }
}

class SetInPrepare extends RequestHandler {
  override prepare() {
    this.currentUser = this.request.headers.get('X-User') ?? null;
  }
  override getCurrentUser(): unknown {
    throw new Error('not called when prepare() assigned currentUser');
  }
  override get() {
    this.write(`hello ${String(this.currentUser)}`);
  }
  static {
    this.prototype.get = authenticated(this.prototype.get);
  }
}

class AsyncGetterMisuse extends RequestHandler {
  override async getCurrentUser(): Promise<unknown> {
    return 'someone';
  }
  override get() {
    this.write(String(this.currentUser));
  }
}

class Anonymous extends RequestHandler {
  override get() {
    this.write({ user: this.currentUser as null });
  }
}

function app(settings: Record<string, unknown> = {}): Application {
  return new Application(
    [
      ['/profile', Profile],
      ['/async', AsyncUser],
      ['/gen', GeneratorMethod],
      ['/prep', SetInPrepare],
      ['/misuse', AsyncGetterMisuse],
      ['/anon', Anonymous],
    ],
    { cookieSecret: SECRET, loginUrl: '/login', ...settings },
  );
}

const signedIn = (name: string) => ({
  Cookie: `user="${createSignedValue(SECRET, 'user', name)}"`,
});

test('an anonymous GET is redirected to loginUrl with next = the path and query', async () => {
  await withTestServer(app(), async (srv) => {
    const res = await srv.fetch('/profile?tab=2&x=a%20b', { redirect: 'manual' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('Location'), '/login?next=%2Fprofile%3Ftab%3D2%26x%3Da%2520b');
    const head = await srv.fetch('/profile', { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 302);
    assert.equal(head.headers.get('Location'), '/login?next=%2Fprofile');
  });
});

test('an absolute loginUrl gets an absolute next; a loginUrl with a query is used as it is', async () => {
  const absolute = await startTestServer(app({ loginUrl: 'https://login.example/signin' }));
  const withQuery = await startTestServer(app({ loginUrl: '/login?from=app' }));
  try {
    const res = await absolute.fetch('/profile?a=1', { redirect: 'manual' });
    assert.equal(
      res.headers.get('Location'),
      `https://login.example/signin?next=${encodeURIComponent(`http://127.0.0.1:${absolute.port}/profile?a=1`)}`,
    );
    const q = await withQuery.fetch('/profile', { redirect: 'manual' });
    assert.equal(q.headers.get('Location'), '/login?from=app');
  } finally {
    await absolute.close();
    await withQuery.close();
  }
});

test('an anonymous POST gets 403; a signed-in user gets through', async () => {
  await withTestServer(app(), async (srv) => {
    const res = await claimLogs([[accessLog, /^403 POST/]], () =>
      srv.fetch('/profile', { method: 'POST', body: '' }),
    );
    assert.equal(res.status, 403);
    const ok = await srv.fetch('/profile', { headers: signedIn('ada') });
    assert.deepEqual(await ok.json(), { user: 'ada' });
    const posted = await srv.fetch('/profile', {
      method: 'POST',
      body: '',
      headers: signedIn('ada'),
    });
    assert.equal(await posted.text(), 'posted');
    // A forged cookie is nobody.
    const forged = await srv.fetch('/profile', {
      headers: { Cookie: 'user="2|1:0|10:1700000000|4:user|4:YWRh|00"' },
      redirect: 'manual',
    });
    assert.equal(forged.status, 302);
  });
});

test('an async getCurrentUser is awaited once; generator methods and prepare() assignment work', async () => {
  await withTestServer(app(), async (srv) => {
    lookups = 0;
    const res = await srv.fetch('/async', { headers: signedIn('grace') });
    assert.deepEqual(await res.json(), { name: 'grace', again: true });
    assert.equal(lookups, 1);
    const anon = await srv.fetch('/async', { redirect: 'manual' });
    assert.equal(anon.status, 302);
    assert.equal(await (await srv.fetch('/gen', { headers: signedIn('x') })).text(), 'gen 42');
    assert.equal((await srv.fetch('/gen', { redirect: 'manual' })).status, 302);
    assert.equal(
      await (await srv.fetch('/prep', { headers: { 'X-User': 'linus' } })).text(),
      'hello linus',
    );
    assert.equal((await srv.fetch('/prep', { redirect: 'manual' })).status, 302);
  });
});

test('currentUser is null by default; reading it before an async lookup resolved is a clear error', async () => {
  await withTestServer(app(), async (srv) => {
    assert.deepEqual(await (await srv.fetch('/anon')).json(), { user: null });
    const res = await claimLogs(
      [
        [accessLog, /^500/],
        [appLog, /Uncaught exception/],
      ],
      () => srv.fetch('/misuse'),
    );
    assert.equal(res.status, 500);
  });
});

test('authenticated without the loginUrl setting is a programming error (500)', async () => {
  await withTestServer(app({ loginUrl: undefined }), async (srv) => {
    const res = await claimLogs(
      [
        [accessLog, /^500/],
        [appLog, /Uncaught exception/],
      ],
      () => srv.fetch('/profile', { redirect: 'manual' }),
    );
    assert.equal(res.status, 500);
  });
});

test('authenticated also has the shape of a TS 5 method decorator', () => {
  const method = function (this: Profile) {
    return 1;
  };
  const wrapped = authenticated(method, {
    kind: 'method',
    name: 'get',
  } as unknown as ClassMethodDecoratorContext);
  assert.equal(typeof wrapped, 'function');
  assert.notEqual(wrapped, method);
  assert.throws(() => authenticated(undefined as unknown as () => void), TypeError);
});
