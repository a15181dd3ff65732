import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  newXsrfToken,
  decodeXsrfToken,
  readXsrfCookie,
  encodeXsrfToken,
  xsrfSubmission,
  checkXsrfToken,
  xsrfFormHtml,
} from '../../src/web/xsrf.ts';
import { growthRatio } from '../helpers/complexity.ts';

const clock = () => 1_700_000_000_500;

describe('xsrf tokens', () => {
  test('a new token is 16 random bytes stamped with the clock, not yet sent', () => {
    const a = newXsrfToken(clock);
    const b = newXsrfToken(clock);
    assert.equal(a.version, null);
    assert.equal(a.token.length, 16);
    assert.equal(a.timestamp, 1_700_000_000);
    assert.notDeepEqual(a.token, b.token);
  });

  test('version 2 encoding masks the token with the given mask', () => {
    const raw = {
      version: null,
      token: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      timestamp: 42,
    };
    const encoded = encodeXsrfToken(raw, { mask: Buffer.from('ffffffff', 'hex') });
    assert.equal(encoded, '2|ffffffff|ffeeddccbbaa99887766554433221100|42');
    assert.equal(encodeXsrfToken(raw, { version: 1 }), '00112233445566778899aabbccddeeff');
  });

  test('every rendering differs and every one decodes to the same secret', () => {
    const raw = newXsrfToken(clock);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const encoded = encodeXsrfToken(raw);
      seen.add(encoded);
      const back = decodeXsrfToken(encoded);
      assert.ok(back);
      assert.equal(back.version, 2);
      assert.deepEqual(back.token, raw.token);
      assert.equal(back.timestamp, raw.timestamp);
    }
    assert.ok(seen.size > 15);
  });

  test('version 1 values: hex decodes, anything else is its UTF-8 bytes', () => {
    assert.deepEqual(decodeXsrfToken('abcd', clock), {
      version: 1,
      token: Buffer.from([0xab, 0xcd]),
      timestamp: 1_700_000_000,
    });
    assert.deepEqual(decodeXsrfToken('hello', clock)?.token, Buffer.from('hello'));
    assert.deepEqual(decodeXsrfToken('abc', clock)?.token, Buffer.from('abc')); // odd length
  });

  test('malformed version-2 values and unknown versions decode to null', () => {
    for (const bad of [
      '3|aa|bb|1',
      '2|',
      '2|aabbccdd|00|1|extra',
      '2|aabbccdd|00',
      '2|aabbcc|00|1',
      '2|aabbccdd|0|1',
      '2|aabbccdd|zz|1',
      '2|aabbccdd|00|x',
      '2|aabbccdd|00|-1',
      '2|aabbccdd|00|' + '9'.repeat(400),
    ]) {
      assert.equal(decodeXsrfToken(bad), null, bad);
    }
    assert.equal(decodeXsrfToken(null), null);
    assert.equal(decodeXsrfToken(undefined), null);
  });

  test('readXsrfCookie reuses a good cookie and replaces a missing or bad one', () => {
    const raw = newXsrfToken(clock);
    const fromCookie = readXsrfCookie(encodeXsrfToken(raw), clock);
    assert.equal(fromCookie.version, 2);
    assert.deepEqual(fromCookie.token, raw.token);
    for (const cookie of [undefined, null, '', '3|x', '2|aabbccdd||1']) {
      const fresh = readXsrfCookie(cookie, clock);
      assert.equal(fresh.version, null, String(cookie));
      assert.equal(fresh.token.length, 16);
    }
  });

  test('submission order: argument, X-XSRFToken, X-CSRFToken; empties skipped', () => {
    assert.equal(xsrfSubmission('a', 'b', 'c'), 'a');
    assert.equal(xsrfSubmission('', 'b', 'c'), 'b');
    assert.equal(xsrfSubmission(null, undefined, 'c'), 'c');
    assert.equal(xsrfSubmission(undefined, '', ''), null);
  });

  test('checkXsrfToken: match, missing, invalid format, mismatch', () => {
    const raw = newXsrfToken(clock);
    assert.equal(checkXsrfToken(encodeXsrfToken(raw), raw.token), null);
    assert.equal(checkXsrfToken(encodeXsrfToken(raw, { version: 1 }), raw.token), null);
    assert.equal(checkXsrfToken('', raw.token), "'_xsrf' argument missing from POST");
    assert.equal(checkXsrfToken(null, raw.token), "'_xsrf' argument missing from POST");
    assert.equal(checkXsrfToken('3|x', raw.token), "'_xsrf' argument has invalid format");
    assert.equal(checkXsrfToken('2|aabbccdd||1', raw.token), "'_xsrf' argument has invalid format");
    const other = newXsrfToken(clock);
    assert.equal(
      checkXsrfToken(encodeXsrfToken(other), raw.token),
      'XSRF cookie does not match POST argument',
    );
    // Same prefix, different length: a mismatch, not an exception.
    const shorter = encodeXsrfToken({ ...raw, token: raw.token.subarray(0, 8) });
    assert.equal(checkXsrfToken(shorter, raw.token), 'XSRF cookie does not match POST argument');
  });

  test('a flipped hex digit in the masked token fails the check', () => {
    const raw = newXsrfToken(clock);
    const encoded = encodeXsrfToken(raw);
    const parts = encoded.split('|');
    const masked = parts[2] as string;
    const flipped = (masked[0] === '0' ? '1' : '0') + masked.slice(1);
    const tampered = [parts[0], parts[1], flipped, parts[3]].join('|');
    assert.equal(checkXsrfToken(tampered, raw.token), 'XSRF cookie does not match POST argument');
  });

  test('xsrfFormHtml escapes the value', () => {
    assert.equal(
      xsrfFormHtml('2|ab|cd|1'),
      '<input type="hidden" name="_xsrf" value="2|ab|cd|1"/>',
    );
    assert.equal(
      xsrfFormHtml('"><script>'),
      '<input type="hidden" name="_xsrf" value="&quot;&gt;&lt;script&gt;"/>',
    );
  });

  test('programming errors throw', () => {
    const raw = newXsrfToken(clock);
    assert.throws(() => encodeXsrfToken(raw, { mask: Buffer.alloc(3) }), TypeError);
    assert.throws(() => encodeXsrfToken(raw, { version: 3 as unknown as 2 }), TypeError);
  });

  test('decoding stays linear in the value length', () => {
    const { ratio } = growthRatio(
      (n) => '2|aabbccdd|' + 'ab'.repeat(n) + '|1',
      (v) => checkXsrfToken(v, Buffer.alloc(16)),
      { startN: 10_000 },
    );
    assert.ok(ratio < 20, `growth ratio ${ratio}`);
    const pipes = growthRatio(
      (n) => '2' + '|'.repeat(n),
      (v) => decodeXsrfToken(v),
      { startN: 10_000 },
    );
    assert.ok(pipes.ratio < 20, `growth ratio ${pipes.ratio}`);
  });
});
