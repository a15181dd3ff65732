import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRangeHeader,
  resolveRange,
  formatContentRange,
  parseHttpDate,
  etagMatches,
  isNotModified,
} from '../../src/web/http-range.ts';
import { formatTimestamp } from '../../src/httputil/index.ts';
import { growthRatio } from '../helpers/complexity.ts';

describe('parseRangeHeader', () => {
  test("Tornado's documented cases", () => {
    assert.deepEqual(parseRangeHeader('bytes=1-2'), { start: 1, end: 3 });
    assert.deepEqual(parseRangeHeader('bytes=6-'), { start: 6, end: null });
    assert.deepEqual(parseRangeHeader('bytes=-6'), { start: -6, end: null });
    assert.deepEqual(parseRangeHeader('bytes=-0'), { start: null, end: 0 });
    assert.deepEqual(parseRangeHeader('bytes='), { start: null, end: null });
    assert.deepEqual(parseRangeHeader('bytes'), { start: null, end: null });
    assert.equal(parseRangeHeader('foo=42'), null);
    assert.equal(parseRangeHeader('bytes=1-2,6-10'), null);
  });

  test('whitespace around parts is allowed', () => {
    assert.deepEqual(parseRangeHeader(' bytes = 1 - 2 '), { start: 1, end: 3 });
  });

  test('garbage is ignored (null)', () => {
    for (const bad of [
      'bytes=a-b',
      'bytes=1-2-3',
      'bytes=+1-2',
      'bytes=1 0-20',
      'bytes=--5',
      'bytes=0x10-',
      'bytes=1e3-',
      'Bytes=0-1',
      '',
      'bytes=\u0661-',
      'bytes=0-1, 3-4',
    ]) {
      assert.equal(parseRangeHeader(bad), null, bad);
    }
  });

  test('huge numbers are clamped, not turned into garbage', () => {
    const r = parseRangeHeader('bytes=0-99999999999999999999999');
    assert.ok(r && r.end !== null && r.end > 2 ** 52);
  });
});

describe('resolveRange', () => {
  const size = 1000;
  test('no header, or an ignored one, is the whole file', () => {
    for (const h of [undefined, null, '', 'garbage', 'bytes=0-1,5-6', 'bytes=']) {
      assert.deepEqual(resolveRange(h, size), {
        status: 200,
        start: 0,
        end: 1000,
        contentLength: 1000,
      });
    }
  });

  test('ordinary ranges are 206 with Content-Range', () => {
    assert.deepEqual(resolveRange('bytes=0-99', size), {
      status: 206,
      start: 0,
      end: 100,
      contentLength: 100,
      contentRange: 'bytes 0-99/1000',
    });
    assert.deepEqual(resolveRange('bytes=-500', size), {
      status: 206,
      start: 500,
      end: 1000,
      contentLength: 500,
      contentRange: 'bytes 500-999/1000',
    });
    assert.deepEqual(resolveRange('bytes=500-', size), {
      status: 206,
      start: 500,
      end: 1000,
      contentLength: 500,
      contentRange: 'bytes 500-999/1000',
    });
    assert.deepEqual(resolveRange('bytes=999-999', size), {
      status: 206,
      start: 999,
      end: 1000,
      contentLength: 1,
      contentRange: 'bytes 999-999/1000',
    });
  });

  test('an end past the file is cut at the file', () => {
    const r = resolveRange('bytes=900-5000', size);
    assert.equal(r.status, 206);
    assert.ok(r.status === 206 && r.end === 1000 && r.contentRange === 'bytes 900-999/1000');
    const huge = resolveRange('bytes=10-99999999999999999999', size);
    assert.ok(huge.status === 206 && huge.contentLength === 990);
  });

  test('ranges covering the whole file answer 200', () => {
    for (const h of ['bytes=0-', 'bytes=0-999', 'bytes=0-5000', 'bytes=-1000', 'bytes=-5000']) {
      assert.equal(resolveRange(h, size).status, 200, h);
    }
  });

  test('unsatisfiable: bytes=5-2, bytes=-0, start at or past the end', () => {
    for (const h of ['bytes=5-2', 'bytes=-0', 'bytes=1000-', 'bytes=1000-2000', 'bytes=5000-1']) {
      assert.deepEqual(resolveRange(h, size), { status: 416, contentRange: 'bytes */1000' }, h);
    }
    assert.deepEqual(resolveRange('bytes=0-', 0), { status: 416, contentRange: 'bytes */0' });
  });

  test('formatContentRange', () => {
    assert.equal(formatContentRange(1, 3, 4), 'bytes 1-2/4');
  });

  test('parsing stays linear on long headers', () => {
    const { ratio } = growthRatio(
      (n) => 'bytes=' + ' '.repeat(n) + '0'.repeat(n) + '-' + '-'.repeat(n),
      (h) => resolveRange(h, 10),
      { startN: 10_000 },
    );
    assert.ok(ratio < 20, `growth ratio ${ratio}`);
  });
});

describe('HTTP dates', () => {
  const t = Date.UTC(1994, 10, 6, 8, 49, 37);
  test('the three RFC formats parse', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), t);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), t);
    assert.equal(parseHttpDate('06 Nov 1994 08:49:37 GMT'), t);
    assert.equal(parseHttpDate(formatTimestamp(t)), t);
  });

  test('invalid dates are null, never an exception', () => {
    for (const bad of [
      'yesterday',
      '',
      'Sun, 30 Feb 1994 08:49:37 GMT',
      'Sun, 06 Foo 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 25:49:37 GMT',
      'Sun, 06 Nov 1994 08:61:37 GMT',
      'Sun, 00 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 +0200',
      '1994-11-06T08:49:37Z',
      'Sun, 06 Nov 1994 08:49:37 GMT' + ' '.repeat(100),
    ]) {
      assert.equal(parseHttpDate(bad), null, bad);
    }
    assert.equal(parseHttpDate(undefined), null);
  });
});

describe('conditional requests', () => {
  test('etagMatches: strong, weak, lists, star', () => {
    assert.equal(etagMatches('"abc"', '"abc"'), true);
    assert.equal(etagMatches('W/"abc"', '"abc"'), true);
    assert.equal(etagMatches('"abc"', 'W/"abc"'), true);
    assert.equal(etagMatches('"x", "y" , W/"abc"', '"abc"'), true);
    assert.equal(etagMatches('"x", "y"', '"abc"'), false);
    assert.equal(etagMatches('*', '"abc"'), true);
    assert.equal(etagMatches('"x", *', '"abc"'), false); // * counts only first, as in Tornado
    assert.equal(etagMatches('"abc', '"abc"'), false);
    assert.equal(etagMatches('"unclosed *', '"abc"'), true);
    assert.equal(etagMatches('', '"abc"'), false);
    assert.equal(etagMatches('"abc"', ''), false);
    assert.equal(etagMatches('"abc"', undefined), false);
  });

  test('etagMatches is linear on hostile headers', () => {
    for (const make of [
      (n: number) => '"'.repeat(n),
      (n: number) => 'W/'.repeat(n) + '"',
      (n: number) => 'W'.repeat(n),
      (n: number) => '"a",'.repeat(n),
    ]) {
      const { ratio } = growthRatio(make, (h) => etagMatches(h, '"zzz"'), { startN: 10_000 });
      assert.ok(ratio < 20, `growth ratio ${ratio}`);
    }
  });

  test('isNotModified: If-None-Match decides when present', () => {
    const modifiedMs = Date.UTC(2020, 0, 1, 0, 0, 0, 500);
    const later = 'Wed, 01 Jan 2020 00:00:10 GMT';
    assert.equal(isNotModified({ ifNoneMatch: '"a"', etag: '"a"', modifiedMs }), true);
    assert.equal(
      isNotModified({ ifNoneMatch: '"b"', etag: '"a"', ifModifiedSince: later, modifiedMs }),
      false,
    );
  });

  test('isNotModified: If-Modified-Since at or after the mtime (whole seconds)', () => {
    const modifiedMs = Date.UTC(2020, 0, 1, 0, 0, 0, 500);
    const same = 'Wed, 01 Jan 2020 00:00:00 GMT';
    const before = 'Tue, 31 Dec 2019 23:59:59 GMT';
    assert.equal(isNotModified({ ifModifiedSince: same, modifiedMs }), true);
    assert.equal(isNotModified({ ifModifiedSince: before, modifiedMs }), false);
    assert.equal(isNotModified({ ifModifiedSince: 'not a date', modifiedMs }), false);
    assert.equal(
      isNotModified({ ifModifiedSince: 'Sun, 30 Feb 2030 00:00:00 GMT', modifiedMs }),
      false,
    );
    assert.equal(isNotModified({ ifModifiedSince: same }), false);
    assert.equal(isNotModified({}), false);
  });
});
