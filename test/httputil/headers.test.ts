// HTTPHeaders: case-insensitive, multi-valued, prototype-free.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTPHeaders } from '../../src/httputil/index.ts';
import { HTTPInputError } from '../../src/errors.ts';

test('HTTPHeaders: case-insensitive, multi-valued, normalized names', () => {
  const h = HTTPHeaders.parse(
    'content-type: text/html\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Long: one\r\n  two\r\n',
  );
  assert.equal(h.get('Content-Type'), 'text/html');
  assert.deepEqual(h.getList('SET-COOKIE'), ['a=1', 'b=2']);
  assert.equal(h.get('set-cookie'), 'a=1,b=2');
  assert.equal(h.get('x-long'), 'one two');
  assert.deepEqual([...h.keys()], ['Content-Type', 'Set-Cookie', 'X-Long']);
  assert.deepEqual(
    [...h.getAll()],
    [
      ['Content-Type', 'text/html'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['X-Long', 'one two'],
    ],
  );
  h.set('set-cookie', 'c=3');
  assert.deepEqual(h.getList('Set-Cookie'), ['c=3']);
  assert.equal(h.delete('X-LONG'), true);
  assert.equal(h.has('x-long'), false);
  assert.deepEqual(h.copy().toFlatArray(), ['Content-Type', 'text/html', 'Set-Cookie', 'c=3']);
  assert.throws(() => HTTPHeaders.parse('no colon here'), HTTPInputError);
  assert.throws(() => HTTPHeaders.parse(' leading continuation'), HTTPInputError);
  const proto = new HTTPHeaders({ __proto__: 'x' } as unknown as Record<string, string>);
  assert.equal(proto.get('constructor'), undefined);
  const raw = HTTPHeaders.fromRaw(['__proto__', 'a', 'constructor', 'b']);
  assert.equal(raw.get('__proto__'), 'a');
  assert.equal(raw.toObject().constructor, 'b');
});
