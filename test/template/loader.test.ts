// Loaders: files under a root folder (UTF-8, BOM), the compile cache and `cache: false`,
// relative names, and names that leave the root refused (../, absolute paths, symlinks out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DictLoader,
  Loader,
  ParseError,
  Template,
  TemplateNotFoundError,
} from '../../src/template/index.ts';

function tree(files: Record<string, string | Buffer>): {
  root: string;
  outside: string;
  done: () => void;
} {
  const base = mkdtempSync(join(tmpdir(), 'typhoon-tpl-'));
  const root = join(base, 'templates');
  const outside = join(base, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.txt'), 'SECRET {{ 1 }}');
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), body);
  }
  return { root, outside, done: () => rmSync(base, { recursive: true, force: true }) };
}

test('loads UTF-8 files (as Tornado’s utf8.html test), strips a BOM, resolves relative names', () => {
  const t = tree({
    'utf8.html': Buffer.from('H\u00e9llo\n'),
    'bom.txt': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x')]),
    'pages/index.html':
      '{% extends "../layout/base.html" %}{% block body %}{% include "part.html" %}{% end %}',
    'pages/part.html': 'part {{ n }}',
    'layout/base.html': '<body>{% block body %}{% end %}</body>',
  });
  try {
    const loader = new Loader(t.root);
    assert.equal(loader.load('utf8.html').generate().trim(), 'H\u00e9llo');
    assert.equal(loader.load('bom.txt').generate(), 'x');
    assert.equal(loader.load('pages/index.html').generate({ n: 1 }), '<body>part 1</body>');
    assert.equal(loader.load('part.html', 'pages/index.html').name, 'pages/part.html');
  } finally {
    t.done();
  }
});

test('load returns the same Template until reset()', () => {
  const t = tree({ 'a.html': 'one' });
  try {
    const loader = new Loader(t.root);
    const first = loader.load('a.html');
    assert.equal(loader.load('a.html'), first);
    assert.equal(loader.load('./a.html'), first);
    writeFileSync(join(t.root, 'a.html'), 'two');
    assert.equal(loader.load('a.html').generate(), 'one');
    loader.reset();
    assert.notEqual(loader.load('a.html'), first);
    assert.equal(loader.load('a.html').generate(), 'two');
  } finally {
    t.done();
  }
});

test('cache: false re-reads and recompiles on every load, includes and bases too', () => {
  const t = tree({
    'page.html': '{% extends "base.html" %}{% block b %}P1{% end %}',
    'base.html': '[{% block b %}{% end %}]',
  });
  try {
    const loader = new Loader(t.root, { cache: false });
    assert.equal(loader.load('page.html').generate(), '[P1]');
    assert.notEqual(loader.load('page.html'), loader.load('page.html'));
    writeFileSync(join(t.root, 'base.html'), '({% block b %}{% end %})');
    assert.equal(loader.load('page.html').generate(), '(P1)');
    writeFileSync(join(t.root, 'page.html'), '{% extends "base.html" %}{% block b %}P2{% end %}');
    assert.equal(loader.load('page.html').generate(), '(P2)');
  } finally {
    t.done();
  }
});

test('names leaving the root are refused: ../, absolute, symlinks out, NUL, backslash', () => {
  const t = tree({ 'ok.html': 'ok', 'inc.html': '{% include "../outside/secret.txt" %}' });
  try {
    symlinkSync(join(t.outside, 'secret.txt'), join(t.root, 'link.txt'));
    symlinkSync(t.outside, join(t.root, 'dirlink'));
    symlinkSync(join(t.root, 'ok.html'), join(t.root, 'inside-link.html'));
    const loader = new Loader(t.root);
    const refusedNames = [
      '../outside/secret.txt',
      'x/../../outside/secret.txt',
      join(t.outside, 'secret.txt'),
      '/etc/passwd',
      'link.txt',
      'dirlink/secret.txt',
      'ok.html\0',
      '..\\outside\\secret.txt',
    ];
    for (const name of refusedNames) {
      assert.throws(
        () => loader.load(name),
        (err: unknown) => err instanceof TemplateNotFoundError && err.templateName !== undefined,
        name,
      );
    }
    assert.throws(() => loader.load('inc.html'), /leaves the template root.*\(from inc\.html:1\)/);
    // A link that stays inside the root is fine.
    assert.equal(loader.load('inside-link.html').generate(), 'ok');
    // DictLoader names follow the same rule.
    const dict = new DictLoader({ 'a/x.html': '{% include "../../y.html" %}', '../y.html': 'no' });
    assert.throws(() => dict.load('../y.html'), TemplateNotFoundError);
    assert.throws(() => dict.load('a/x.html'), TemplateNotFoundError);
  } finally {
    t.done();
  }
});

test('a missing template throws TemplateNotFoundError, naming the includer for includes', () => {
  const t = tree({ 'page.html': '\n{% include "gone.html" %}', 'dir/keep': '' });
  try {
    const loader = new Loader(t.root);
    assert.throws(
      () => loader.load('nope.html'),
      (err: unknown) =>
        err instanceof TemplateNotFoundError &&
        err.templateName === 'nope.html' &&
        (err.cause as NodeJS.ErrnoException).code === 'ENOENT',
    );
    assert.throws(
      () => loader.load('page.html'),
      /template not found: gone\.html \(from page\.html:2\)/,
    );
    assert.throws(() => loader.load('dir'), TemplateNotFoundError);
    assert.throws(() => new DictLoader({}).load('x.html'), /template not found: x\.html/);
    assert.throws(() => new DictLoader({}).load('toString'), TemplateNotFoundError);
  } finally {
    t.done();
  }
});

test('a malformed file throws ParseError from load, and is not cached', () => {
  const loader = new DictLoader({ 'bad.html': 'x\n{{ oops' });
  assert.throws(() => loader.load('bad.html'), /Missing end expression \}\} at bad\.html:2/);
  assert.throws(() => loader.load('bad.html'), ParseError);
});

test('loader options reach its templates: autoescape, whitespace, namespace', () => {
  const loader = new DictLoader(
    { 'a.html': '  {{ v }}  {{ greet }}' },
    { autoescape: null, whitespace: 'all', namespace: { greet: 'hi' } },
  );
  const t = loader.load('a.html');
  assert.equal(t.generate({ v: '<' }), '  <  hi');
  assert.equal(t.autoescape, null);
  assert.equal(t.whitespace, 'all');
  assert.equal(t.namespace.greet, 'hi');
  assert.equal(t.loader, loader);
  // The loader's namespace is live: a change shows on the next render.
  loader.namespace.greet = 'hello';
  assert.equal(t.generate({ v: 1 }), '  1  hello');
  assert.equal(new Template('{{ 1 }}').loader, null);
});
