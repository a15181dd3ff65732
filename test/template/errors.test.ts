// Template errors: ParseError texts and positions (Tornado's wording), and runtime errors that
// keep their class and gain `file:line` through include, extends and nested templates. The
// parser's property test (any source compiles or throws ParseError) is in test/fuzz/parsers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DictLoader, ParseError, Template } from '../../src/template/index.ts';

function parseError(source: string, name = 'foo.html'): ParseError {
  try {
    new Template(source, { name, loader: new DictLoader({}) });
  } catch (err) {
    assert.ok(err instanceof ParseError, `not a ParseError: ${String(err)}`);
    return err;
  }
  assert.fail(`no ParseError for ${JSON.stringify(source)}`);
}

test('ParseError details: message, filename, lineno', () => {
  const loader = new DictLoader({ 'foo.html': '\n\n{{' });
  assert.throws(
    () => loader.load('foo.html'),
    (err: unknown) =>
      err instanceof ParseError &&
      err.message === 'Missing end expression }} at foo.html:3' &&
      err.filename === 'foo.html' &&
      err.lineno === 3 &&
      err.reason === 'Missing end expression }}',
  );
  assert.equal(new ParseError('asdf').message, 'asdf at None:0');
  assert.equal(new ParseError('asdf', 'x.html', 7).message, 'asdf at x.html:7');
});

test("Tornado's parse error texts, with the line", () => {
  const cases: Array<[string, string]> = [
    ['a\n{%', 'Missing end block %} at foo.html:2'],
    ['{#', 'Missing end comment #} at foo.html:1'],
    ['x\n{{ }}', 'Empty expression at foo.html:2'],
    ['{%  %}', 'Empty block tag ({% %}) at foo.html:1'],
    ['\n{% if x %}\nyes', 'Missing {% end %} block for if at foo.html:2'],
    ['{% end %}', 'Extra {% end %} block at foo.html:1'],
    ['{% else %}', "else outside {'if', 'for', 'while', 'try'} block at foo.html:1"],
    [
      '{% for x in y %}{% elif z %}{% end %}',
      'elif block cannot be attached to for block at foo.html:1',
    ],
    ['{% break %}', "break outside {'for', 'while'} block at foo.html:1"],
    ['{% extends %}', 'extends missing file path at foo.html:1'],
    ['{% include "" %}', 'include missing file path at foo.html:1'],
    ['{% set %}', 'set missing statement at foo.html:1'],
    ['{% apply %}x{% end %}', 'apply missing method name at foo.html:1'],
    ['{% block %}x{% end %}', 'block missing name at foo.html:1'],
    ['{% frobnicate %}', "unknown operator: 'frobnicate' at foo.html:1"],
    [
      '{% if x %}{% else %}{% else %}{% end %}',
      'else block cannot follow else block in if at foo.html:1',
    ],
    ['{% try %}x{% end %}', 'try block needs an except or finally clause at foo.html:1'],
    ['{% whitespace wide %}', 'invalid whitespace mode wide at foo.html:1'],
    ['{% for 1x in y %}{% end %}', 'invalid loop variable: 1x at foo.html:1'],
  ];
  for (const [source, message] of cases) assert.equal(parseError(source).message, message, source);
});

test('invalid JavaScript is a ParseError naming the line of the bad expression', () => {
  const err = parseError('line one\n\n<p>{{ a + }}</p>');
  assert.equal(err.lineno, 3);
  assert.equal(err.filename, 'foo.html');
  assert.match(err.message, /in a \+ at foo\.html:3$/);
  assert.ok(err.cause instanceof SyntaxError);
  assert.equal(parseError('{% if ( %}{% end %}').lineno, 1);
  assert.equal(parseError('\n{% set x = = 1 %}').lineno, 2);
  assert.equal(parseError('\n\n{% for x in ) %}{% end %}').lineno, 3);
});

test('extends or include without a loader is a ParseError', () => {
  assert.throws(
    () => new Template('{% extends "base.html" %}'),
    /\{% extends %\} block found, but no template loader at <string>:1/,
  );
  assert.throws(
    () => new Template('\n{% include "x.html" %}'),
    /\{% include %\} block found, but no template loader at <string>:2/,
  );
});

test('a template that includes or extends itself is a ParseError, not a stack overflow', () => {
  const loader = new DictLoader({
    'a.html': '{% include "b.html" %}',
    'b.html': '\n{% include "a.html" %}',
    'self.html': '{% extends "self.html" %}',
  });
  assert.throws(
    () => loader.load('a.html'),
    (err: unknown) =>
      err instanceof ParseError && /includes or extends itself at b\.html:2/.test(err.message),
  );
  assert.throws(() => loader.load('self.html'), ParseError);
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error);
    return err;
  }
  assert.fail('nothing thrown');
}

test('runtime error in an expression: its class kept, file:line added', () => {
  const loader = new DictLoader({ 'test.html': 'one\ntwo{{ boom() }}\nthree\n' });
  const boom = () => {
    throw new RangeError('out of range');
  };
  const err = thrown(() => loader.load('test.html').generate({ boom }));
  assert.ok(err instanceof RangeError);
  assert.equal(err.message, 'out of range (at test.html:2)');
  assert.match(String(err.stack), /^RangeError: out of range \(at test\.html:2\)/);
});

test('runtime error in a directive', () => {
  const loader = new DictLoader({ 'test.html': 'one\ntwo{%if missing.x %}\nthree{%end%}\n' });
  const err = thrown(() => loader.load('test.html').generate({ missing: undefined }));
  assert.ok(err instanceof TypeError);
  assert.match(err.message, /\(at test\.html:2\)$/);
});

test('runtime error through include, several includes, extends and blocks', () => {
  const loader = new DictLoader({
    'base.html': "{% include 'sub.html' %}",
    'sub.html': '{{ nope }}',
    'a.html': "{% include 'b.html' %}",
    'b.html': "{% include 'c.html' %}",
    'c.html': '{{ nope }}',
    'ebase.html': '{{ nope }}',
    'esub.html': "{% extends 'ebase.html' %}",
    'bbase.html': "{% block 'block' %}{% end %}",
    'bsub.html': "\n{% extends 'bbase.html' %}\n{% block 'block' %}\n{{ nope }}\n{% end %}\n",
  });
  const render = (name: string) => thrown(() => loader.load(name).generate());
  assert.match(
    render('base.html').message,
    /^nope is not defined \(at sub\.html:1 via base\.html:1\)$/,
  );
  assert.match(render('a.html').message, /\(at c\.html:1 via b\.html:1, a\.html:1\)$/);
  assert.match(render('esub.html').message, /\(at ebase\.html:1\)$/);
  assert.match(render('bsub.html').message, /\(at bsub\.html:4 via bbase\.html:1\)$/);
  assert.ok(render('a.html') instanceof ReferenceError);
});

test('runtime error through a module that renders another template', () => {
  const loader: DictLoader = new DictLoader(
    { 'base.html': "{% module Template('sub.html') %}", 'sub.html': '{{ nope }}' },
    { namespace: { modules: { Template: (path: string) => loader.load(path).generate() } } },
  );
  const err = thrown(() => loader.load('base.html').generate());
  assert.ok(err instanceof ReferenceError);
  assert.equal(err.message, 'nope is not defined (at sub.html:1 via base.html:1)');
});

test('errors caught by {% try %} are not annotated; primitives and frozen errors pass', () => {
  const t = new Template('{% try %}{{ f() }}{% except e %}{{ e.message }}{% end %}');
  assert.equal(
    t.generate({
      f: () => {
        throw new Error('plain');
      },
    }),
    'plain',
  );
  assert.throws(
    () =>
      new Template('{{ f() }}').generate({
        f: () => {
          throw 'str';
        },
      }),
    (e) => e === 'str',
  );
  const frozen = Object.freeze(new Error('cold'));
  assert.throws(
    () =>
      new Template('{{ f() }}').generate({
        f: () => {
          throw frozen;
        },
      }),
    (e) => e === frozen,
  );
});

test('an error passing through templates names each once in its stack', () => {
  const loader = new DictLoader({
    'a.html': '{% include b.html %}',
    'b.html': 'x\n{{ boom() }}',
  });
  const boom = () => {
    throw new RangeError('kaput');
  };
  const error = (() => {
    try {
      loader.load('a.html').generate({ boom });
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a failure');
  })();
  assert.ok(error instanceof RangeError);
  const firstLine = String(error.stack).split('\n')[0]!;
  assert.equal(firstLine, `RangeError: ${error.message}`);
  assert.equal(firstLine.match(/\(at /g)?.length, 1, firstLine);
});

test('method names of Object.prototype are ordinary names in expressions', () => {
  const t = new Template('{{ n.toString() }}|{{ o.hasOwnProperty("a") }}|{{ o.constructor.name }}');
  assert.equal(t.generate({ n: 12, o: { a: 1 } }), '12|true|Object');
});
