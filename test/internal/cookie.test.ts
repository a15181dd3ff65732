import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCookieHeader,
  unquoteCookieValue,
  quoteCookieValue,
  formatSetCookie,
} from '../../src/internal/cookie.ts';
import { growthRatio } from '../helpers/complexity.ts';

describe('parseCookieHeader', () => {
  test('splits name=value pairs and trims them', () => {
    assert.deepEqual({ ...parseCookieHeader(' a = 1 ;b=2;c=x=y') }, { a: '1', b: '2', c: 'x=y' });
  });

  test('a piece without = is a value with an empty name; empty pieces are skipped', () => {
    assert.deepEqual({ ...parseCookieHeader('lonely; ;;a=1') }, { '': 'lonely', a: '1' });
    assert.deepEqual({ ...parseCookieHeader('') }, {});
    assert.deepEqual({ ...parseCookieHeader('=') }, {});
  });

  test('a later duplicate wins', () => {
    assert.equal(parseCookieHeader('a=1; a=2').a, '2');
  });

  test('the map has no prototype, so __proto__ is an ordinary cookie', () => {
    const cookies = parseCookieHeader('__proto__=x; constructor=y; toString=z');
    assert.equal(Object.getPrototypeOf(cookies), null);
    assert.equal(cookies.__proto__, 'x');
    assert.equal(cookies.constructor, 'y');
    assert.deepEqual(Object.keys(cookies), ['__proto__', 'constructor', 'toString']);
  });

  test('quoted values are unquoted', () => {
    const c = parseCookieHeader('a="x\\"y"; b="semi\\073colon"; c="\\\\"; d="plain"; e="');
    assert.equal(c.a, 'x"y');
    assert.equal(c.b, 'semi;colon');
    assert.equal(c.c, '\\');
    assert.equal(c.d, 'plain');
    assert.equal(c.e, '"');
  });

  test('a Cookie header of 100 000 backslashes parses, and in linear time', () => {
    const header = 'a="' + '\\'.repeat(100_000) + '"';
    const value = parseCookieHeader(header).a;
    assert.equal(value, '\\'.repeat(50_000));
    const { ratio } = growthRatio(
      (n) => 'a="' + '\\'.repeat(n) + '"; b="' + '\\1'.repeat(n) + '"',
      (h) => parseCookieHeader(h),
      { startN: 10_000 },
    );
    assert.ok(ratio < 20, `growth ratio ${ratio}`);
  });

  test('a header of many ; and = stays linear', () => {
    const { ratio } = growthRatio(
      (n) => ';'.repeat(n) + '='.repeat(n) + 'a=b;'.repeat(n),
      (h) => parseCookieHeader(h),
      { startN: 10_000 },
    );
    assert.ok(ratio < 20, `growth ratio ${ratio}`);
  });
});

describe('unquoteCookieValue', () => {
  test('unquoted values are returned as they are', () => {
    assert.equal(unquoteCookieValue('abc'), 'abc');
    assert.equal(unquoteCookieValue('"abc'), '"abc');
    assert.equal(unquoteCookieValue('"'), '"');
  });

  test('octal escapes need three digits with the first in 0-3', () => {
    assert.equal(unquoteCookieValue('"\\012"'), '\n');
    assert.equal(unquoteCookieValue('"\\377"'), '\u00ff');
    assert.equal(unquoteCookieValue('"\\477"'), '477');
    assert.equal(unquoteCookieValue('"\\01"'), '01');
  });

  test('a trailing backslash or one before a newline stays literal', () => {
    assert.equal(unquoteCookieValue('"ab\\"'), 'ab\\');
    assert.equal(unquoteCookieValue('"a\\\nb"'), 'a\\\nb');
  });
});

describe('quoteCookieValue', () => {
  test('token values are left alone', () => {
    assert.equal(quoteCookieValue('abc:1|2'), 'abc:1|2');
    assert.equal(quoteCookieValue(''), '');
  });

  test('other values are quoted as Python http.cookies does', () => {
    assert.equal(quoteCookieValue('a=b'), '"a=b"');
    assert.equal(quoteCookieValue('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(quoteCookieValue('a,b;c'), '"a\\054b\\073c"');
    assert.equal(quoteCookieValue('\u00e9\u007f'), '"\\351\\177"');
  });

  test('round-trips through the parser', () => {
    for (const v of ['a=b', 'x"y\\z', 'semi;colon,comma', 'caf\u00e9', '2|1:0|4:dmE=|ab/+']) {
      assert.equal(parseCookieHeader(`k=${quoteCookieValue(v)}`).k, v);
    }
  });

  test('characters above U+00FF and controls are refused', () => {
    assert.throws(() => quoteCookieValue('\u20ac'), TypeError);
    assert.throws(() => quoteCookieValue('a b'), TypeError);
  });
});

describe('formatSetCookie', () => {
  test('defaults to Path=/', () => {
    assert.equal(formatSetCookie('a', 'b'), 'a=b; Path=/');
  });

  test('writes every attribute in Tornado order', () => {
    const header = formatSetCookie('sid', 'x=y', {
      domain: '.example.com',
      path: '/app',
      expires: new Date(Date.UTC(2026, 9, 21, 7, 28, 0)),
      maxAge: 3_600_999,
      secure: true,
      httpOnly: true,
      sameSite: 'lax',
    });
    assert.equal(
      header,
      'sid="x=y"; Domain=.example.com; expires=Wed, 21 Oct 2026 07:28:00 GMT; HttpOnly; ' +
        'Max-Age=3600; Path=/app; SameSite=Lax; Secure',
    );
  });

  test('expiresDays counts from the given clock; expires wins over it', () => {
    const now = Date.UTC(2030, 0, 1);
    assert.equal(
      formatSetCookie('a', 'b', { expiresDays: 1.5, path: null }, now),
      'a=b; expires=Wed, 02 Jan 2030 12:00:00 GMT',
    );
    assert.match(
      formatSetCookie('a', 'b', { expiresDays: 1, expires: new Date(0) }, now),
      /expires=Thu, 01 Jan 1970/,
    );
  });

  test('false flags and empty domain/path are omitted; negative maxAge is allowed', () => {
    assert.equal(
      formatSetCookie('a', '', {
        secure: false,
        httpOnly: false,
        domain: '',
        path: '',
        maxAge: -1,
      }),
      'a=; Max-Age=-1',
    );
  });

  const injections: [string, () => string][] = [
    ['CR/LF in the value', () => formatSetCookie('a', 'b\r\nSet-Cookie: evil=1')],
    ['a space in the value', () => formatSetCookie('a', 'b c')],
    ['a NUL in the value', () => formatSetCookie('a', 'b\0')],
    ['; in the name', () => formatSetCookie('a;b', 'c')],
    ['= in the name', () => formatSetCookie('a=b', 'c')],
    ['an empty name', () => formatSetCookie('', 'c')],
    ['a reserved name', () => formatSetCookie('Path', 'c')],
    ['; in the domain', () => formatSetCookie('a', 'b', { domain: 'x.com; Secure' })],
    ['a space in the domain', () => formatSetCookie('a', 'b', { domain: 'x .com' })],
    ['CR/LF in the domain', () => formatSetCookie('a', 'b', { domain: 'x.com\r\nX: y' })],
    ['; in the path', () => formatSetCookie('a', 'b', { path: '/;HttpOnly' })],
    ['a space in the path', () => formatSetCookie('a', 'b', { path: '/a b' })],
    ['a tab in the path', () => formatSetCookie('a', 'b', { path: '/a\tb' })],
    ['DEL in the path', () => formatSetCookie('a', 'b', { path: '/a\x7f' })],
    ['non-ASCII in the path', () => formatSetCookie('a', 'b', { path: '/\u00e9' })],
    [
      'an unknown sameSite',
      () => formatSetCookie('a', 'b', { sameSite: 'Lax; Secure' as unknown as 'Lax' }),
    ],
    ['a NaN maxAge', () => formatSetCookie('a', 'b', { maxAge: NaN })],
    ['a string maxAge', () => formatSetCookie('a', 'b', { maxAge: '1; x' as unknown as number })],
    ['an infinite expiresDays', () => formatSetCookie('a', 'b', { expiresDays: Infinity })],
    ['an invalid Date', () => formatSetCookie('a', 'b', { expires: new Date(NaN) })],
  ];
  for (const [what, fn] of injections) {
    test(`refuses ${what} with a TypeError`, () => {
      assert.throws(fn, TypeError);
    });
  }
});
