import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, symlink, rm, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkStaticUrlPath,
  resolveStaticPath,
  type StaticPathResult,
} from '../../src/web/static-path.ts';
import { growthRatio } from '../helpers/complexity.ts';

function status(r: StaticPathResult | ReturnType<typeof checkStaticUrlPath>): number | string {
  if (!r.ok) return r.status;
  return 'kind' in r ? r.kind : 'ok';
}

describe('checkStaticUrlPath', () => {
  test('ordinary paths pass, split into segments', () => {
    assert.deepEqual(checkStaticUrlPath('css/site.css'), {
      ok: true,
      segments: ['css', 'site.css'],
      trailingSlash: false,
    });
    assert.deepEqual(checkStaticUrlPath('a//b/'), {
      ok: true,
      segments: ['a', 'b'],
      trailingSlash: true,
    });
    assert.deepEqual(checkStaticUrlPath(''), { ok: true, segments: [], trailingSlash: true });
    assert.deepEqual(
      checkStaticUrlPath('caf%C3%A9%20menu.txt').ok && checkStaticUrlPath('caf%C3%A9%20menu.txt'),
      {
        ok: true,
        segments: ['caf\u00e9 menu.txt'],
        trailingSlash: false,
      },
    );
  });

  const refusals: [string, number][] = [
    ['../etc/passwd', 403],
    ['a/../../etc/passwd', 403],
    ['a/..', 403],
    ['%2e%2e/etc/passwd', 403],
    ['%2E%2E%2Fetc%2Fpasswd', 403],
    ['a%2f..%2f..%2fsecret', 403],
    ['/etc/passwd', 403],
    ['%2fetc/passwd', 403],
    ['a\\..\\..\\secret', 403],
    ['a%5c..%5csecret', 403],
    ['file.txt%00.png', 403],
    ['file.txt\0', 403],
    ['C:/Windows/win.ini', 403],
    ['c%3a/boot.ini', 403],
    ['file.txt::$DATA', 403],
    ['file.txt:stream', 403],
    ['.env', 404],
    ['.git/config', 404],
    ['a/.hidden/b', 404],
    ['%2eenv', 404],
    ['./file.txt', 404],
    ['CON', 404],
    ['con', 404],
    ['nul.txt', 404],
    ['dir/COM1', 404],
    ['LPT9.log', 404],
    ['aux.tar.gz', 404],
    ['CONIN$', 404],
    ['com\u00b9', 404],
    ['CON .txt', 404],
    ['file.txt.', 404],
    ['file.txt ', 404],
    ['%zz', 400],
    ['%', 400],
    ['%C3', 400],
    ['%ED%A0%80', 400],
  ];
  for (const [path, expected] of refusals) {
    test(`refuses ${JSON.stringify(path)} with ${expected}`, () => {
      assert.equal(status(checkStaticUrlPath(path)), expected);
    });
  }

  test('double-encoded traversal decodes once, to a harmless literal name', () => {
    assert.deepEqual(checkStaticUrlPath('%252e%252e/secret'), {
      ok: true,
      segments: ['%2e%2e', 'secret'],
      trailingSlash: false,
    });
  });

  test('names that merely contain device names or dots are fine', () => {
    for (const ok of ['console.txt', 'connect', 'com10', 'my.con', 'a..b', 'x/nullable.js']) {
      assert.equal(checkStaticUrlPath(ok).ok, true, ok);
    }
  });

  test('decoded: true does not decode again', () => {
    assert.deepEqual(checkStaticUrlPath('100%.txt', { decoded: true }), {
      ok: true,
      segments: ['100%.txt'],
      trailingSlash: false,
    });
    assert.equal(status(checkStaticUrlPath('100%.txt')), 400);
  });

  test('stays linear on long paths', () => {
    for (const make of [
      (n: number) => 'a/'.repeat(n),
      (n: number) => '%41'.repeat(n),
      (n: number) => '/'.repeat(n) + 'x',
    ]) {
      // From 64 000 up: below it the segment list still fits V8's young generation and costs
      // a third per character of what it costs past it, a step that reads as superlinear.
      const { ratio } = growthRatio(make, (p) => checkStaticUrlPath(p), { startN: 64_000 });
      assert.ok(ratio < 20, `growth ratio ${ratio}`);
    }
  });
});

describe('resolveStaticPath', () => {
  let base: string;
  let root: string;
  let outside: string;

  before(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'typhoon-static-')));
    root = join(base, 'root');
    outside = join(base, 'outside');
    await mkdir(join(root, 'sub', 'dir'), { recursive: true });
    await mkdir(join(root, 'docs'), { recursive: true });
    await mkdir(join(root, '.git'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(root, 'hello.txt'), 'hello');
    await writeFile(join(root, 'sub', 'dir', 'file.txt'), 'deep');
    await writeFile(join(root, 'docs', 'index.html'), '<p>docs</p>');
    await writeFile(join(root, '.env'), 'SECRET=1');
    await writeFile(join(root, '.git', 'config'), '[core]');
    await writeFile(join(outside, 'secret.txt'), 'secret');
    await writeFile(join(base, 'rootsibling.txt'), 'sibling');
    await symlink(join(outside, 'secret.txt'), join(root, 'link-out.txt'));
    await symlink(outside, join(root, 'dir-out'));
    await symlink(join(root, 'hello.txt'), join(root, 'link-in.txt'));
    await symlink(join(root, '.env'), join(root, 'link-env'));
    await symlink('/dev/null', join(root, 'devnull'));
    await symlink(join(root, 'missing'), join(root, 'dangling'));
  });

  after(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('serves a file, with its stats and real path', async () => {
    const r = await resolveStaticPath(root, 'sub/dir/file.txt');
    assert.ok(r.ok && r.kind === 'file');
    assert.equal(r.path, join(root, 'sub', 'dir', 'file.txt'));
    assert.equal(r.realPath, join(root, 'sub', 'dir', 'file.txt'));
    assert.equal(r.stats.size, 4);
  });

  test('a symlink inside the root to a file inside it is served from its real path', async () => {
    const r = await resolveStaticPath(root, 'link-in.txt');
    assert.ok(r.ok && r.kind === 'file');
    assert.equal(r.realPath, join(root, 'hello.txt'));
  });

  test('a root given with a trailing slash or relative segments works the same', async () => {
    assert.equal(status(await resolveStaticPath(root + '/', 'hello.txt')), 'file');
    assert.equal(status(await resolveStaticPath(join(root, 'sub', '..'), 'hello.txt')), 'file');
  });

  test('traversal never reaches a sibling of the root', async () => {
    for (const p of [
      '../rootsibling.txt',
      '%2e%2e/rootsibling.txt',
      '..%2frootsibling.txt',
      '..\\rootsibling.txt',
    ]) {
      assert.equal(status(await resolveStaticPath(root, p)), 403, p);
    }
    assert.equal(status(await resolveStaticPath(root, '%252e%252e/rootsibling.txt')), 404);
    assert.equal(status(await resolveStaticPath(root, base + '/rootsibling.txt')), 403);
  });

  test('symlinks pointing out of the root are 404 unless followSymlinks', async () => {
    assert.equal(status(await resolveStaticPath(root, 'link-out.txt')), 404);
    assert.equal(status(await resolveStaticPath(root, 'dir-out/secret.txt')), 404);
    const followed = await resolveStaticPath(root, 'dir-out/secret.txt', { followSymlinks: true });
    assert.ok(followed.ok && followed.kind === 'file');
    assert.equal(followed.realPath, join(outside, 'secret.txt'));
  });

  test('the root is resolved once, yet files and directories that become symlinks later are still caught', async () => {
    // Served first, so the root's real path is cached; then the file and a directory are
    // swapped for symlinks leading out.
    await mkdir(join(root, 'swap'));
    await writeFile(join(root, 'swap', 'secret.txt'), 'inside');
    await writeFile(join(root, 'swapped.txt'), 'inside');
    assert.equal(status(await resolveStaticPath(root, 'swapped.txt')), 'file');
    assert.equal(status(await resolveStaticPath(root, 'swap/secret.txt')), 'file');
    await rm(join(root, 'swapped.txt'));
    await symlink(join(outside, 'secret.txt'), join(root, 'swapped.txt'));
    await rm(join(root, 'swap'), { recursive: true });
    await symlink(outside, join(root, 'swap'));
    assert.equal(status(await resolveStaticPath(root, 'swapped.txt')), 404);
    assert.equal(status(await resolveStaticPath(root, 'swap/secret.txt')), 404);
  });

  test('a symlink to a dotfile is not served; a dangling one is 404', async () => {
    assert.equal(status(await resolveStaticPath(root, 'link-env')), 404);
    assert.equal(status(await resolveStaticPath(root, 'dangling')), 404);
  });

  test('dotfiles are never served', async () => {
    assert.equal(status(await resolveStaticPath(root, '.env')), 404);
    assert.equal(status(await resolveStaticPath(root, '.git/config')), 404);
    assert.equal(status(await resolveStaticPath(root, '.env', { followSymlinks: true })), 404);
  });

  test('missing files and paths through files are 404', async () => {
    assert.equal(status(await resolveStaticPath(root, 'nope.txt')), 404);
    assert.equal(status(await resolveStaticPath(root, 'hello.txt/x')), 404);
  });

  test('a non-regular file is 403', async () => {
    assert.equal(status(await resolveStaticPath(root, 'devnull', { followSymlinks: true })), 403);
  });

  test('a directory is 403 without defaultFilename', async () => {
    assert.equal(status(await resolveStaticPath(root, 'docs/')), 403);
    assert.equal(status(await resolveStaticPath(root, '')), 403);
  });

  test('with defaultFilename: redirect to add the slash, then serve the index', async () => {
    const opts = { defaultFilename: 'index.html' };
    assert.deepEqual(
      await resolveStaticPath(root, 'docs', { ...opts, requestPath: '/static/docs' }),
      {
        ok: true,
        kind: 'redirect',
        location: '/static/docs/',
      },
    );
    const r = await resolveStaticPath(root, 'docs/', { ...opts, requestPath: '/static/docs/' });
    assert.ok(r.ok && r.kind === 'file');
    assert.equal(r.realPath, join(root, 'docs', 'index.html'));
    // A directory without the index file: 404.
    assert.equal(status(await resolveStaticPath(root, 'sub/', opts)), 404);
  });

  test('no open redirect: a request path starting with // or /\\ is refused', async () => {
    const opts = { defaultFilename: 'index.html' };
    for (const requestPath of ['//evil.example/docs', '/\\evil.example/docs']) {
      const r = await resolveStaticPath(root, 'docs', { ...opts, requestPath });
      assert.equal(status(r), 403, requestPath);
    }
  });

  test('a missing root is 404, not an exception', async () => {
    assert.equal(status(await resolveStaticPath(join(base, 'no-such-root'), 'hello.txt')), 404);
  });
});
