// URLSpec / url(): anchoring, positional and named groups, and reversing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { URLSpec, url, toURLSpec } from '../../src/web/routing.ts';

class H {}

test('patterns are anchored, strings or RegExps, with or without explicit anchors', () => {
  for (const pattern of ['/a/(\\d+)', '^/a/(\\d+)$', /\/a\/(\d+)/]) {
    const spec = new URLSpec(pattern, H);
    assert.deepEqual(spec.match('/a/12'), { args: ['12'], kwargs: undefined });
    assert.equal(spec.match('/a/12/x'), null);
    assert.equal(spec.match('/x/a/12'), null);
  }
  assert.deepEqual(new URLSpec(/\/A/i, H).match('/a'), { args: [], kwargs: undefined });
});

test('a pattern without metacharacters matches exactly what its regex would', () => {
  const paths = [
    '/about',
    '/About',
    '/about/',
    '/abou',
    '/about\n',
    '/api/v1.0',
    '/api/v1x0',
    '/price$',
    '/a-b,c',
    '/',
    '',
    '/é',
    '/api/v1.0/x',
  ];
  for (const pattern of [
    '/about',
    '^/about$',
    '/api/v1\\.0',
    '/price\\$',
    '/a-b,c',
    '/',
    '',
    '/é',
    /\/about/,
    /\/ABOUT/i,
    '/api/v1.0',
  ]) {
    const spec = new URLSpec(pattern, H);
    for (const path of paths) {
      const expected = spec.regex.test(path) ? { args: [], kwargs: undefined } : null;
      assert.deepEqual(spec.match(path), expected, `${String(pattern)} on ${JSON.stringify(path)}`);
    }
  }
  // (`.` is a metacharacter: the regex decides, and it matches any character there.)
  assert.notEqual(new URLSpec('/api/v1.0', H).match('/api/v1x0'), null);
  assert.notEqual(new URLSpec(/\/ABOUT/i, H).match('/about'), null);
});

test('named groups give kwargs, unmatched groups undefined', () => {
  const spec = url('/u/(?<user>\\w+)(?:/(?<tab>\\w+))?', H);
  assert.deepEqual({ ...spec.match('/u/bob')!.kwargs }, { user: 'bob', tab: undefined });
  assert.deepEqual({ ...spec.match('/u/bob/posts')!.kwargs }, { user: 'bob', tab: 'posts' });
  assert.deepEqual(new URLSpec('/o/(\\d+)?', H).match('/o/'), {
    args: [undefined],
    kwargs: undefined,
  });
});

test('reverse fills groups, escapes values, refuses complex patterns and wrong arity', () => {
  assert.equal(url('/a/(\\d+)/(\\w+)', H).reverse(1, 'x y/z'), '/a/1/x%20y/z');
  assert.equal(url('/f\\.txt', H).reverse(), '/f.txt');
  assert.equal(url('/u/(?<id>\\d+)', H).reverse({ id: 5 }), '/u/5');
  assert.throws(() => url('/a|/b', H).reverse(), /too complex/);
  assert.throws(() => url('/a/(\\d+)?', H).reverse(1), /too complex/);
  assert.throws(() => url('/a/(\\d+)', H).reverse(), /needs 1 arguments/);
});

test('toURLSpec accepts tuples and URLSpecs, refuses junk', () => {
  const spec = toURLSpec(['/x', H, { a: 1 }, 'x']);
  assert.equal(spec.name, 'x');
  assert.deepEqual(spec.initArgs, { a: 1 });
  assert.equal(toURLSpec(spec), spec);
  assert.throws(() => toURLSpec(['/x'] as never), TypeError);
  assert.throws(() => new URLSpec('/x', 'nope' as never), TypeError);
});
