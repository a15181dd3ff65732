// Interoperability with the real Python Tornado (Debian's python3-tornado): values signed by
// either side verify on the other, XSRF tokens decode both ways, and Set-Cookie headers look
// the same. Skipped, with the reason printed, when no Python with Tornado is installed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createSignedValue,
  decodeSignedValue,
  getSignatureKeyVersion,
} from '../../src/web/signed-value.ts';
import {
  decodeXsrfToken,
  encodeXsrfToken,
  newXsrfToken,
  checkXsrfToken,
} from '../../src/web/xsrf.ts';
import { formatSetCookie, parseCookieHeader } from '../../src/internal/cookie.ts';

// Everything Python does, in one process per call: requests in as JSON on stdin, answers out.
const PY = String.raw`
import json, sys
import tornado.web, tornado.httputil
from tornado.web import create_signed_value, decode_signed_value

class _Conn:
    def set_close_callback(self, cb): pass

def handler(cookie_header=None, **settings):
    app = tornado.web.Application([], **settings)
    headers = tornado.httputil.HTTPHeaders()
    if cookie_header: headers['Cookie'] = cookie_header
    req = tornado.httputil.HTTPServerRequest(method='GET', uri='/', headers=headers, connection=_Conn())
    return tornado.web.RequestHandler(app, req)

def secret(s):
    return {int(k): v for k, v in s.items()} if isinstance(s, dict) else s

out = []
for op in json.load(sys.stdin):
    kind = op['op']
    if kind == 'sign':
        out.append(create_signed_value(secret(op['secret']), op['name'], op['value'],
                   key_version=op.get('keyVersion')).decode())
    elif kind == 'decode':
        r = decode_signed_value(secret(op['secret']), op['name'], op['value'])
        out.append(None if r is None else r.decode('utf-8'))
    elif kind == 'xsrf_new':
        h = handler()
        token = h.xsrf_token.decode()
        out.append({'token': token, 'cookie': h._new_cookie['_xsrf'].value})
    elif kind == 'xsrf_check':
        h = handler('_xsrf=' + op['cookie'])
        h.request.headers['X-Xsrftoken'] = op['submitted']
        try:
            h.check_xsrf_cookie(); out.append(True)
        except tornado.web.HTTPError:
            out.append(False)
    elif kind == 'set_cookie':
        h = handler()
        h.set_cookie(op['name'], op['value'], **op['kwargs'])
        out.append(h._new_cookie[op['name']].OutputString(None))
    elif kind == 'parse_cookie':
        out.append(tornado.httputil.parse_cookie(op['header']))
print(json.dumps(out))
`;

type Op = Record<string, unknown> & { op: string };

function findPython(): { python: string | null; reason: string } {
  let reason = 'no python3 found';
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      execFileSync(python, ['-c', 'import tornado'], { stdio: 'pipe' });
      return { python, reason: '' };
    } catch (err) {
      reason = `${python} cannot import tornado: ${(err as Error).message.split('\n')[0]}`;
    }
  }
  return { python: null, reason };
}

const { python, reason } = findPython();
if (python === null) console.log(`# skipping Tornado interop tests: ${reason}`);

function tornado(ops: Op[]): unknown[] {
  const output = execFileSync(python as string, ['-c', PY], {
    input: JSON.stringify(ops),
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return JSON.parse(output) as unknown[];
}

describe('Tornado interoperability', { skip: python === null ? reason : false }, () => {
  test('a value signed by Tornado verifies in typhoon (single key and key rotation)', () => {
    const rotation = { 1: 'old-secret', 2: 'new-secret' };
    const [plain, rotated] = tornado([
      { op: 'sign', secret: 'py-secret', name: 'user', value: 'caf\u00e9 42' },
      { op: 'sign', secret: rotation, name: 'sid', value: 'abc', keyVersion: 2 },
    ]) as [string, string];
    assert.match(plain, /^2\|1:0\|10:\d{10}\|4:user\|/);
    assert.equal(decodeSignedValue('py-secret', 'user', plain), 'caf\u00e9 42');
    assert.equal(decodeSignedValue('wrong', 'user', plain), null);
    assert.equal(decodeSignedValue(rotation, 'sid', rotated), 'abc');
    assert.equal(getSignatureKeyVersion(rotated), 2);
    // The cookie as a browser would send it back, after Tornado's Set-Cookie quoting.
    const header = `user=${plain.includes('=') ? `"${plain}"` : plain}`;
    assert.equal(
      decodeSignedValue('py-secret', 'user', parseCookieHeader(header).user),
      'caf\u00e9 42',
    );
  });

  test('a value signed by typhoon verifies in Tornado; tampering is refused there', () => {
    const rotation = { 1: 'old-secret', 2: 'new-secret' };
    const signed = createSignedValue('ts-secret', 'user', 'h\u00e9llo | world');
    const rotated = createSignedValue(rotation, 'sid', 'xyz', { keyVersion: 1 });
    const v1 = createSignedValue('ts-secret', 'user', 'old format', { version: 1 });
    const tampered = signed.slice(0, -1) + (signed.endsWith('0') ? '1' : '0');
    const results = tornado([
      { op: 'decode', secret: 'ts-secret', name: 'user', value: signed },
      { op: 'decode', secret: rotation, name: 'sid', value: rotated },
      { op: 'decode', secret: 'ts-secret', name: 'user', value: v1 },
      { op: 'decode', secret: 'ts-secret', name: 'user', value: tampered },
      { op: 'decode', secret: 'ts-secret', name: 'other', value: signed },
    ]);
    assert.deepEqual(results, ['h\u00e9llo | world', 'xyz', 'old format', null, null]);
  });

  test('XSRF tokens: Tornado tokens check in typhoon and typhoon tokens check in Tornado', () => {
    const [made] = tornado([{ op: 'xsrf_new' }]) as [{ token: string; cookie: string }];
    const fromCookie = decodeXsrfToken(made.cookie);
    assert.ok(fromCookie);
    assert.equal(fromCookie.version, 2);
    assert.equal(checkXsrfToken(made.token, fromCookie.token), null);

    const raw = newXsrfToken();
    const cookie = encodeXsrfToken(raw);
    const other = encodeXsrfToken(newXsrfToken());
    const results = tornado([
      { op: 'xsrf_check', cookie, submitted: encodeXsrfToken(raw) },
      { op: 'xsrf_check', cookie, submitted: encodeXsrfToken(raw, { version: 1 }) },
      { op: 'xsrf_check', cookie, submitted: other },
    ]);
    assert.deepEqual(results, [true, true, false]);
  });

  test('Set-Cookie headers match what Tornado sends', () => {
    const expires = new Date(Date.UTC(2031, 4, 6, 7, 8, 9));
    const cases: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      ['a', 'plain', {}, {}],
      ['b', 'needs"quotes",and;semis\\', {}, {}],
      [
        'c',
        'caf\u00e9=1',
        { domain: 'example.com', path: '/x' },
        { domain: 'example.com', path: '/x' },
      ],
      [
        'd',
        'v',
        { expires, httpOnly: true, secure: true, sameSite: 'Lax', maxAge: 120_000 },
        {
          expires: expires.getTime() / 1000,
          httponly: true,
          secure: true,
          samesite: 'Lax',
          max_age: 120,
        },
      ],
    ];
    const ours = cases.map(([name, value, options]) => formatSetCookie(name, value, options));
    const theirs = tornado(
      cases.map(([name, value, , kwargs]) => ({ op: 'set_cookie', name, value, kwargs })),
    );
    assert.deepEqual(ours, theirs);
  });

  test('Cookie headers parse the same way', () => {
    const headers = [
      'a=1; b=2; c',
      ' x = "quoted\\"value" ; y="\\073\\054" ;;; z==',
      'dup=1; dup=2; =; ; empty=',
      'a="\\\\\\\\"; b="\\q"',
    ];
    const theirs = tornado(headers.map((header) => ({ op: 'parse_cookie', header })));
    assert.deepEqual(
      headers.map((h) => ({ ...parseCookieHeader(h) })),
      theirs,
    );
  });
});
