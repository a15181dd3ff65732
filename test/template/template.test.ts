// Tornado's template test cases (tornado/test/template_test.py: inputs and expected outputs
// are Tornado's, expressions translated to JavaScript), then every directive of DESIGN.md and
// the details the contract adds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DictLoader, Template, filterWhitespace, ParseError } from '../../src/template/index.ts';
import { utf8 } from '../../src/escape.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('simple, bytes values, expressions, comments', () => {
  const t = new Template('Hello {{ name }}!');
  assert.equal(t.generate({ name: 'Ben' }), 'Hello Ben!');
  assert.equal(t.generate({ name: utf8('Ben') }), 'Hello Ben!');
  assert.equal(new Template('2 + 2 = {{ 2 + 2 }}').generate(), '2 + 2 = 4');
  assert.equal(
    new Template('Hello{# TODO i18n #} {{ name }}!').generate({ name: 'Ben' }),
    'Hello Ben!',
  );
});

test('include and extends', () => {
  const loader = new DictLoader({
    'index.html': '{% include "header.html" %}\nbody text',
    'header.html': 'header text',
  });
  assert.equal(loader.load('index.html').generate(), 'header text\nbody text');
  const pages = new DictLoader({
    'base.html':
      '<title>{% block title %}default title{% end %}</title>\n<body>{% block body %}default body{% end %}</body>\n',
    'page.html':
      '{% extends "base.html" %}\n{% block title %}page title{% end %}\n{% block body %}page body{% end %}\n',
  });
  assert.equal(
    pages.load('page.html').generate(),
    '<title>page title</title>\n<body>page body</body>\n',
  );
});

test('relative load', () => {
  const loader = new DictLoader({
    'a/1.html': "{% include '2.html' %}",
    'a/2.html': "{% include '../b/3.html' %}",
    'b/3.html': 'ok',
  });
  assert.equal(loader.load('a/1.html').generate(), 'ok');
});

test('escaping the directive braces', () => {
  assert.throws(() => new Template('{{'), ParseError);
  assert.throws(() => new Template('{%'), ParseError);
  assert.equal(new Template('{{!').generate(), '{{');
  assert.equal(new Template('{%!').generate(), '{%');
  assert.equal(new Template('{#!').generate(), '{#');
  assert.equal(new Template("{{ 'expr' }} {{!jquery expr}}").generate(), 'expr {{jquery expr}}');
});

test('unicode templates and literals, non-ASCII names', () => {
  assert.equal(new Template(utf8('\u00e9')).generate(), '\u00e9');
  assert.equal(new Template(utf8('{{ "\u00e9" }}')).generate(), '\u00e9');
  const loader = new DictLoader({ 't\u00e9st.html': 'hello' });
  assert.equal(loader.load('t\u00e9st.html').generate(), 'hello');
});

test('custom namespace on the loader; generate names win over it', () => {
  const loader = new DictLoader(
    { 'test.html': '{{ inc(5) }} {{ who }}' },
    { namespace: { inc: (x: number) => x + 1, who: 'loader' } },
  );
  assert.equal(loader.load('test.html').generate(), '6 loader');
  assert.equal(loader.load('test.html').generate({ who: 'call' }), '6 call');
});

test('apply, with text and bytes results (not escaped again)', () => {
  const upper = (s: string) => s.toUpperCase();
  assert.equal(new Template('{% apply upper %}foo{% end %}').generate({ upper }), 'FOO');
  assert.equal(
    new Template('{% apply upper %}foo \u00e9{% end %}').generate({ upper }),
    'FOO \u00c9',
  );
  const bytesUpper = (s: string) => utf8(s.toUpperCase());
  assert.equal(
    new Template('{% apply upper %}foo \u00e9{% end %}').generate({ upper: bytesUpper }),
    'FOO \u00c9',
  );
  const wrap = (s: string) => `<b>${s}</b>`;
  assert.equal(
    new Template('{% apply wrap %}{{ x }}{% end %}').generate({ wrap, x: '<' }),
    '<b>&lt;</b>',
  );
  const seen: unknown[] = [];
  new Template('{% apply f %}{{ 1 }}{% end %}').generate({ f: (s: unknown) => seen.push(s) });
  assert.deepEqual(seen, ['1']);
});

test('if, empty if body', () => {
  const t = new Template('{% if x > 4 %}yes{% else %}no{% end %}');
  assert.equal(t.generate({ x: 5 }), 'yes');
  assert.equal(t.generate({ x: 3 }), 'no');
  assert.equal(new Template('{% if True %}{% else %}{% end %}').generate(), '');
  const elif = new Template(
    '{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% end %}',
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((x) => elif.generate({ x })),
    ['one', 'two', 'three', 'many'],
  );
});

test('try / except / else / finally', () => {
  const t = new Template(
    '{% try %}\ntry{% set y = check(x) %}\n{% except %}-except\n{% else %}-else\n{% finally %}-finally\n{% end %}',
  );
  const check = (x: number) => {
    if (x === 0) throw new RangeError('division by zero');
    return 1 / x;
  };
  assert.equal(t.generate({ x: 1, check }), '\ntry\n-else\n-finally\n');
  assert.equal(t.generate({ x: 0, check }), '\ntry-except\n-finally\n');
});

test('except binds the error; catch is a synonym; typed except rethrows others', () => {
  const fail = (e: Error) => {
    throw e;
  };
  assert.equal(
    new Template('{% try %}{{ fail(err) }}{% except e %}caught {{ e.message }}{% end %}').generate({
      fail,
      err: new Error('<x>'),
    }),
    'caught &lt;x&gt;',
  );
  assert.equal(
    new Template('{% try %}{{ fail(err) }}{% catch e %}{{ e.name }}{% end %}').generate({
      fail,
      err: new TypeError('t'),
    }),
    'TypeError',
  );
  const typed = new Template(
    '{% try %}{{ fail(err) }}{% except RangeError as e %}range {{ e.message }}{% except TypeError %}type{% end %}',
  );
  assert.equal(typed.generate({ fail, err: new RangeError('r') }), 'range r');
  assert.equal(typed.generate({ fail, err: new TypeError('t') }), 'type');
  assert.throws(() => typed.generate({ fail, err: new SyntaxError('s') }), SyntaxError);
  assert.equal(new Template('{% try %}a{% finally %}b{% end %}').generate(), 'ab');
});

test('comment directive', () => {
  assert.equal(new Template('{% comment blah blah %}foo').generate(), 'foo');
});

test('break and continue', () => {
  const t = new Template(
    '{% for i in range(10) %}\n    {% if i == 2 %}\n        {% continue %}\n    {% end %}\n    {{ i }}\n    {% if i == 6 %}\n        {% break %}\n    {% end %}\n{% end %}',
  );
  assert.equal(t.generate({ range }).replace(/\s+/g, ''), '013456');
  assert.throws(() => new Template('{% break %}'), ParseError);
  assert.throws(
    () => new Template('{% for i in [] %}{% apply foo %}{% break %}{% end %}{% end %}'),
    ParseError,
  );
});

test('for iterates values of any iterable, unpacks pairs, accepts "of"', () => {
  const t = new Template('{% for x in xs %}[{{ x }}]{% end %}');
  assert.equal(t.generate({ xs: ['a', 'b'] }), '[a][b]');
  assert.equal(t.generate({ xs: new Set([1, 2]) }), '[1][2]');
  assert.equal(t.generate({ xs: 'hé' }), '[h][é]');
  function* gen() {
    yield 1;
    yield 2;
  }
  assert.equal(t.generate({ xs: gen() }), '[1][2]');
  const pairs = new Template('{% for k, v in m %}{{ k }}={{ v }};{% end %}');
  assert.equal(
    pairs.generate({
      m: new Map<string, number>([
        ['a', 1],
        ['b', 2],
      ]),
    }),
    'a=1;b=2;',
  );
  assert.equal(pairs.generate({ m: Object.entries({ x: 1 }) }), 'x=1;');
  assert.equal(
    new Template('{% for (k, v) of m %}{{ k }}{{ v }}{% end %}').generate({ m: [[1, 2]] }),
    '12',
  );
  assert.equal(new Template('{% for x of [1, 2] %}{{ x }}{% end %}').generate(), '12');
  assert.equal(
    new Template('{% for {a, b} of rows %}{{ a }}{{ b }}{% end %}').generate({
      rows: [{ a: 1, b: 2 }],
    }),
    '12',
  );
  // One scope per template, as in Python: the loop variable outlives the loop.
  assert.equal(new Template('{% for x in [1, 2] %}{% end %}{{ x }}').generate(), '2');
  // for … else runs when the loop did not break.
  const loopElse = new Template(
    '{% for x in xs %}{% if x == 0 %}{% break %}{% end %}{% else %}done{% end %}',
  );
  assert.equal(loopElse.generate({ xs: [1, 2] }), 'done');
  assert.equal(loopElse.generate({ xs: [1, 0] }), '');
});

test('while, with else', () => {
  assert.equal(
    new Template(
      '{% set i = 0 %}{% while i < 3 %}{{ i }}{% set i += 1 %}{% else %}!{% end %}',
    ).generate(),
    '012!',
  );
});

test('set: one variable scope per template, visible after a loop', () => {
  assert.equal(
    new Template('{% for x in [1, 2, 3] %}{% set last = x * 2 %}{% end %}{{ last }}').generate(),
    '6',
  );
  assert.equal(new Template('{% set [a, b] = [1, 2] %}{{ a + b }}').generate(), '3');
  assert.equal(
    new Template('{% set {a, b: c} = o %}{{ a }}{{ c }}').generate({ o: { a: 1, b: 2 } }),
    '12',
  );
  assert.equal(new Template('{% set name = name + "!" %}{{ name }}').generate({ name: 'x' }), 'x!');
  // Names set in an included template are seen by the includer (included code is inlined).
  const loader = new DictLoader({
    'a.html': '{% include "b.html" %}{{ v }}',
    'b.html': '{% set v = 7 %}',
  });
  assert.equal(loader.load('a.html').generate(), '7');
});

test('None, True and False work in expressions', () => {
  assert.equal(
    new Template('{{ None === null }} {{ True }} {{ False }}').generate(),
    'true true false',
  );
  assert.equal(new Template('{{ None }}').generate({ None: 'given' }), 'given');
});

test('values: Buffer as UTF-8 text, anything else through String', () => {
  const t = new Template('{{ v }}', { autoescape: null });
  assert.equal(t.generate({ v: Buffer.from('é<') }), 'é<');
  assert.equal(t.generate({ v: null }), 'null');
  assert.equal(t.generate({ v: undefined }), 'undefined');
  assert.equal(t.generate({ v: [1, 2] }), '1,2');
  assert.equal(t.generate({ v: 1.5 }), '1.5');
  const seen: unknown[] = [];
  new Template('{% autoescape f %}{{ v }}').generate({ f: (s: unknown) => seen.push(s), v: 3 });
  assert.deepEqual(seen, ['3']);
});

test('the default namespace: escape, xhtmlEscape, urlEscape, jsonEncode, squeeze, linkify, Date', () => {
  const t = new Template(
    '{% autoescape None %}{{ escape("<") }}{{ xhtmlEscape("&") }} {{ urlEscape("a b") }} ' +
      '{{ jsonEncode({a: "</x>"}) }} {{ squeeze(" a  b ") }} {{ linkify("www.x.com") }} ' +
      '{{ new Date(0).toISOString() }}',
  );
  assert.equal(
    t.generate(),
    '&lt;&amp; a+b {"a":"<\\/x>"} a b <a href="http://www.x.com">www.x.com</a> 1970-01-01T00:00:00.000Z',
  );
});

const AUTOESCAPE_TEMPLATES: Record<string, string> = {
  'escaped.html': '{% autoescape xhtmlEscape %}{{ name }}',
  'unescaped.html': '{% autoescape None %}{{ name }}',
  'default.html': '{{ name }}',
  'include.html':
    "escaped: {% include 'escaped.html' %}\nunescaped: {% include 'unescaped.html' %}\ndefault: {% include 'default.html' %}\n",
  'escaped_block.html': '{% autoescape xhtmlEscape %}{% block name %}base: {{ name }}{% end %}',
  'unescaped_block.html': '{% autoescape None %}{% block name %}base: {{ name }}{% end %}',
  'escaped_extends_unescaped.html':
    '{% autoescape xhtmlEscape %}{% extends "unescaped_block.html" %}',
  'escaped_overrides_unescaped.html':
    '{% autoescape xhtmlEscape %}{% extends "unescaped_block.html" %}{% block name %}extended: {{ name }}{% end %}',
  'unescaped_extends_escaped.html': '{% autoescape None %}{% extends "escaped_block.html" %}',
  'unescaped_overrides_escaped.html':
    '{% autoescape None %}{% extends "escaped_block.html" %}{% block name %}extended: {{ name }}{% end %}',
  'raw_expression.html': '{% autoescape xhtmlEscape %}expr: {{ name }}\nraw: {% raw name %}',
};

test('autoescape: default off on the loader', () => {
  const loader = new DictLoader(AUTOESCAPE_TEMPLATES, { autoescape: null });
  const name = 'Bobby <table>s';
  assert.equal(loader.load('escaped.html').generate({ name }), 'Bobby &lt;table&gt;s');
  assert.equal(loader.load('unescaped.html').generate({ name }), 'Bobby <table>s');
  assert.equal(loader.load('default.html').generate({ name }), 'Bobby <table>s');
  assert.equal(
    loader.load('include.html').generate({ name }),
    'escaped: Bobby &lt;table&gt;s\nunescaped: Bobby <table>s\ndefault: Bobby <table>s\n',
  );
});

test('autoescape: default on', () => {
  const loader = new DictLoader(AUTOESCAPE_TEMPLATES, { autoescape: 'xhtmlEscape' });
  const name = 'Bobby <table>s';
  assert.equal(loader.load('escaped.html').generate({ name }), 'Bobby &lt;table&gt;s');
  assert.equal(loader.load('unescaped.html').generate({ name }), 'Bobby <table>s');
  assert.equal(loader.load('default.html').generate({ name }), 'Bobby &lt;table&gt;s');
  assert.equal(
    loader.load('include.html').generate({ name }),
    'escaped: Bobby &lt;table&gt;s\nunescaped: Bobby <table>s\ndefault: Bobby &lt;table&gt;s\n',
  );
});

test('autoescape in blocks, extended and overridden', () => {
  const loader = new DictLoader(AUTOESCAPE_TEMPLATES);
  const render = (n: string) => loader.load(n).generate({ name: '<script>' });
  assert.equal(render('escaped_block.html'), 'base: &lt;script&gt;');
  assert.equal(render('unescaped_block.html'), 'base: <script>');
  assert.equal(render('escaped_extends_unescaped.html'), 'base: <script>');
  assert.equal(render('escaped_overrides_unescaped.html'), 'extended: &lt;script&gt;');
  assert.equal(render('unescaped_extends_escaped.html'), 'base: &lt;script&gt;');
  assert.equal(render('unescaped_overrides_escaped.html'), 'extended: <script>');
  assert.equal(
    loader.load('raw_expression.html').generate({ name: '<>&"' }),
    'expr: &lt;&gt;&amp;&quot;\nraw: <>&"',
  );
});

test('custom autoescape function; the last autoescape directive of a file wins', () => {
  const loader = new DictLoader({ 'foo.py': '{% autoescape pyEscape %}s = {{ name }}\n' });
  const pyEscape = (s: string) => JSON.stringify(s);
  const render = (name: unknown) => loader.load('foo.py').generate({ pyEscape, name });
  assert.equal(render('<html>'), 's = "<html>"\n');
  assert.equal(render(['not a string']), 's = "not a string"\n');
  assert.equal(
    new Template('{% autoescape None %}{{ x }}{% autoescape xhtmlEscape %}{{ x }}').generate({
      x: '<',
    }),
    '&lt;&lt;',
  );
});

test('manual whitespace minimizing inside tags', () => {
  const loader = new DictLoader({
    'foo.txt': '{% for i in items\n  %}{% if i > 0 %}, {% end %}{#\n  #}{{i\n  }}{% end\n%}',
  });
  assert.equal(loader.load('foo.txt').generate({ items: range(5) }), '0, 1, 2, 3, 4');
});

test('whitespace by file name', () => {
  const loader = new DictLoader({
    'foo.html': '   \n\t\n asdf\t   ',
    'bar.js': ' \n\n\n\t qwer     ',
    'baz.txt': '\t    zxcv\n\n',
    'include.html': '  {% include baz.txt %} \n ',
    'include.txt': '\t\t{% include foo.html %}    ',
  });
  assert.equal(loader.load('foo.html').generate(), '\nasdf ');
  assert.equal(loader.load('bar.js').generate(), '\nqwer ');
  assert.equal(loader.load('baz.txt').generate(), '\t    zxcv\n\n');
  assert.equal(loader.load('include.html').generate(), ' \t    zxcv\n\n\n');
  assert.equal(loader.load('include.txt').generate(), '\t\t\nasdf     ');
});

test('whitespace by loader', () => {
  const templates = { 'foo.html': '\t\tfoo\n\n', 'bar.txt': '\t\tbar\n\n' };
  let loader = new DictLoader(templates, { whitespace: 'all' });
  assert.equal(loader.load('foo.html').generate(), '\t\tfoo\n\n');
  assert.equal(loader.load('bar.txt').generate(), '\t\tbar\n\n');
  loader = new DictLoader(templates, { whitespace: 'single' });
  assert.equal(loader.load('foo.html').generate(), ' foo\n');
  assert.equal(loader.load('bar.txt').generate(), ' bar\n');
  loader = new DictLoader(templates, { whitespace: 'oneline' });
  assert.equal(loader.load('foo.html').generate(), ' foo ');
  assert.equal(loader.load('bar.txt').generate(), ' bar ');
});

test('whitespace directive', () => {
  const loader = new DictLoader({
    'foo.html':
      '{% whitespace oneline %}\n    {% for i in range(3) %}\n        {{ i }}\n    {% end %}\n{% whitespace all %}\n    pre\tformatted\n',
  });
  assert.equal(loader.load('foo.html').generate({ range }), '  0  1  2  \n    pre\tformatted\n');
});

test('whitespace: <pre> text is never filtered; unknown modes throw naming the mode', () => {
  assert.equal(
    new Template('<pre>  a\n\n  b</pre>', { whitespace: 'oneline' }).generate(),
    '<pre>  a\n\n  b</pre>',
  );
  assert.equal(filterWhitespace('single', '  a\n\n   b'), ' a\nb');
  assert.equal(filterWhitespace('oneline', 'a\n\n  b'), 'a b');
  assert.equal(filterWhitespace('all', ' \n '), ' \n ');
  assert.throws(() => filterWhitespace('bogus' as 'all', 'x'), /invalid whitespace mode bogus/);
  assert.throws(
    () => new Template('x', { whitespace: 'tabs' as 'all' }),
    /invalid whitespace mode tabs/,
  );
  assert.throws(
    () => new Template('{% whitespace wide %}'),
    /invalid whitespace mode wide at <string>:1/,
  );
  assert.equal(new Template('  a  ', { compressWhitespace: true }).generate(), ' a ');
  assert.throws(
    () => new Template('x', { compressWhitespace: true, whitespace: 'all' }),
    TypeError,
  );
});

test('{{{ x }}} renders {x}; a { at the very end is text', () => {
  assert.equal(new Template('{{{ x }}}').generate({ x: 1 }), '{1}');
  assert.equal(new Template('a {').generate(), 'a {');
  assert.equal(new Template('{a} {').generate(), '{a} {');
});

test('extends: text outside blocks is dropped, the most derived block wins, nested blocks', () => {
  const loader = new DictLoader({
    'base.html':
      'B[{% block a %}base-a{% end %}|{% block b %}base-b{% block c %}base-c{% end %}{% end %}]',
    'mid.html':
      'dropped {% extends "base.html" %}{% block a %}mid-a{% end %}{% block c %}mid-c{% end %}',
    'leaf.html': '{% extends mid.html %}ignored{% block a %}leaf-a {{ v }}{% end %}',
  });
  assert.equal(loader.load('mid.html').generate(), 'B[mid-a|base-bmid-c]');
  assert.equal(loader.load('leaf.html').generate({ v: 1 }), 'B[leaf-a 1|base-bmid-c]');
});

test('include shares names with the includer; extends and include paths may be unquoted', () => {
  const loader = new DictLoader({
    'page.html': '{% set who = "inc" %}{% include part.html %}',
    'part.html': 'hello {{ who }} {{ outer }}',
  });
  assert.equal(loader.load('page.html').generate({ outer: 'o' }), 'hello inc o');
});

test('module renders modules.Expr from the namespace, unescaped', () => {
  const loader = new DictLoader({
    'page.html': '<div>{% module Entry(item, {compact: true}) %}</div>',
  });
  const modules = {
    Entry: (item: string, opts: { compact: boolean }) => `<b>${item}${opts.compact ? '!' : ''}</b>`,
  };
  assert.equal(loader.load('page.html').generate({ modules, item: 'x' }), '<div><b>x!</b></div>');
});

test('hostile data is escaped; jsonEncode inside <script> cannot close it', () => {
  const t = new Template(
    '<p title="{{ v }}">{{ v }}</p><script>var d = {% raw jsonEncode(v) %};</script><a href="/s?q={{ urlEscape(v) }}">',
  );
  const v = `</script><script>alert("x")</script>' onmouseover='x' &amp;`;
  const out = t.generate({ v });
  assert.equal(
    out,
    '<p title="&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39; &amp;amp;">' +
      '&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x&#39; &amp;amp;</p>' +
      '<script>var d = "<\\/script><script>alert(\\"x\\")<\\/script>\' onmouseover=\'x\' &amp;";</script>' +
      '<a href="/s?q=%3C%2Fscript%3E%3Cscript%3Ealert%28%22x%22%29%3C%2Fscript%3E%27+onmouseover%3D%27x%27+%26amp%3B">',
  );
  assert.equal(out.match(/<\/script>/g)?.length, 1);
  // Only text the template writes itself can hold markup.
  assert.doesNotMatch(new Template('{{ v }}').generate({ v: '<img src=x onerror=alert(1)>' }), /</);
});

test('a loop over 10,000 rows', () => {
  const t = new Template(
    '<table>{% for r in rows %}<tr class="{{ r.id % 2 ? "odd" : "even" }}"><td>{{ r.id }}</td><td>{{ r.name }}</td></tr>{% end %}</table>',
    { name: 'rows.html' },
  );
  const rows = range(10_000).map((id) => ({ id, name: `<n${id}>` }));
  const out = t.generate({ rows });
  assert.equal(out.match(/<tr /g)?.length, 10_000);
  assert.ok(out.includes('<tr class="odd"><td>9999</td><td>&lt;n9999&gt;</td></tr></table>'));
  assert.ok(!out.includes('<n'));
});

test('compiled once per namespace shape; a new shape still renders correctly', () => {
  const t = new Template('{{ typeof a }} {{ b }}');
  assert.equal(t.generate({ b: 1 }), 'undefined 1');
  assert.equal(t.generate({ a: 1, b: 2 }), 'number 2');
  assert.equal(t.generate({ b: 3 }), 'undefined 3');
  assert.throws(() => t.generate({}), /b is not defined/);
  // Contextual keywords are ordinary names.
  const get = (k: string) => k.toUpperCase();
  assert.equal(new Template('{{ get("a") }}{{ of }}').generate({ get, of: 1 }), 'A1');
  // Globals stay reachable when the namespace does not shadow them.
  assert.equal(new Template('{{ Math.max(1, 2) }} {{ JSON.stringify([1]) }}').generate(), '2 [1]');
  assert.equal(new Template('{{ Math }}').generate({ Math: 'mine' }), 'mine');
  // Past the shape cache's limit, older shapes are compiled again as needed.
  const many = new Template(
    '{{ typeof a }}{{ typeof b }}{{ typeof c }}{{ typeof d }}{{ typeof e }}{{ typeof f }}',
  );
  for (let mask = 0; mask < 64; mask++) {
    const ns: Record<string, number> = {};
    'abcdef'.split('').forEach((k, i) => mask & (1 << i) && (ns[k] = i));
    const expect = 'abcdef'
      .split('')
      .map((_, i) => (mask & (1 << i) ? 'number' : 'undefined'))
      .join('');
    assert.equal(many.generate(ns), expect);
  }
});

test('the namespace object given to generate is not modified by set', () => {
  const ns = { x: 1 };
  assert.equal(new Template('{% set x = 2 %}{{ x }}').generate(ns), '2');
  assert.deepEqual(ns, { x: 1 });
});
