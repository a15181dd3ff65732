// RequestHandler.render and renderString over real HTTP: layouts, includes, the template
// settings (autoescape, templateWhitespace, compiledTemplateCache, templateLoader), the names
// every template sees, and what a failing template answers.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isThenable } from '../../src/concurrent.ts';
import { accessLog, appLog } from '../../src/log.ts';
import { DictLoader, Loader, type TemplateLoader } from '../../src/template/index.ts';
import { Application, RequestHandler, url, type ApplicationSettings } from '../../src/web/index.ts';
import type { TemplateNamespace } from '../../src/template/index.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { serveApp, withTestServer } from '../helpers/server.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh template folder holding `files` (name → source); removed after the tests. */
function templateDir(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'typhoon-render-'));
  made.push(root);
  for (const [name, source] of Object.entries(files)) {
    mkdirSync(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), source);
  }
  return root;
}

/** A handler rendering the template named by the `t` query argument with `ns` JSON. */
class Render extends RequestHandler {
  override get() {
    const ns = JSON.parse(this.getArgument('ns', '{}')) as TemplateNamespace;
    return this.render(this.getArgument('t'), ns);
  }
  override post() {
    this.write('posted');
  }
}

function q(name: string, ns: object = {}): string {
  return `/?t=${encodeURIComponent(name)}&ns=${encodeURIComponent(JSON.stringify(ns))}`;
}

const LAYOUT = {
  'base.html':
    '<html><head><title>{% block title %}Site{% end %}</title></head>\n' +
    '<body>{% block body %}{% end %}{% include "footer.html" %}</body></html>',
  'footer.html': '<footer>{{ year }}</footer>',
  'page.html':
    '{% extends "base.html" %}{% block title %}{{ title }}{% end %}\n' +
    '{% block body %}<ul>{% for item in items %}<li>{{ item }}</li>{% end %}</ul>{% end %}',
};

describe('render', () => {
  test('a page extending a layout, with an include, escaped data and text/html', async () => {
    const root = templateDir(LAYOUT);
    await withTestServer(new Application([['/', Render]], { templatePath: root }), async (srv) => {
      const ns = { title: 'A & B', items: ['<b>x</b>', "it's"], year: 2026 };
      const res = await srv.fetch(q('page.html', ns));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/html; charset=UTF-8');
      assert.equal(
        await res.text(),
        '<html><head><title>A &amp; B</title></head>\n' +
          '<body><ul><li>&lt;b&gt;x&lt;/b&gt;</li><li>it&#39;s</li></ul>' +
          '<footer>2026</footer></body></html>',
      );
    });
  });

  test('render returns a Future that resolves once the response is finished', async () => {
    const root = templateDir({ 'a.html': 'A' });
    const seen: string[] = [];
    class Awaits extends RequestHandler {
      override async get() {
        const future = this.render('a.html');
        seen.push(`thenable=${isThenable(future)} finished=${this.finished}`);
        await future;
        seen.push('resolved');
      }
    }
    await withTestServer(new Application([['/', Awaits]], { templatePath: root }), async (srv) => {
      assert.equal(await (await srv.fetch('/')).text(), 'A');
    });
    assert.deepEqual(seen, ['thenable=true finished=true', 'resolved']);
  });

  test('render after finish throws; renderString returns text without finishing', async () => {
    const root = templateDir({ 'hi.html': 'Hi {{ who }}' });
    class Twice extends RequestHandler {
      override get() {
        const text = this.renderString('hi.html', { who: '<you>' });
        this.write({ text, finished: this.finished });
        void this.finish();
        let error = '';
        try {
          void this.render('hi.html', { who: 'again' });
        } catch (err) {
          error = (err as Error).message;
        }
        assert.equal(error, 'Cannot render() after finish()');
      }
    }
    await withTestServer(new Application([['/', Twice]], { templatePath: root }), async (srv) => {
      assert.deepEqual(await (await srv.fetch('/')).json(), {
        text: 'Hi &lt;you&gt;',
        finished: false,
      });
    });
  });

  test('the autoescape setting: default xhtmlEscape, another function, null for none', async () => {
    const root = templateDir({ 'e.html': '{{ v }}|{% raw v %}' });
    const get = async (settings: ApplicationSettings) =>
      withTestServer(
        new Application([['/', Render]], { templatePath: root, ...settings }),
        async (srv) => (await srv.fetch(q('e.html', { v: '<i>' }))).text(),
      );
    assert.equal(await get({}), '&lt;i&gt;|<i>');
    assert.equal(await get({ autoescape: null }), '<i>|<i>');
    assert.equal(await get({ autoescape: 'urlEscape' }), '%3Ci%3E|<i>');
  });

  test('templateWhitespace: html collapses by default, "all" keeps every space', async () => {
    const root = templateDir({ 'w.html': '<p>\n    a   b\n\n</p>' });
    const get = async (settings: ApplicationSettings) =>
      withTestServer(
        new Application([['/', Render]], { templatePath: root, ...settings }),
        async (srv) => (await srv.fetch(q('w.html'))).text(),
      );
    assert.equal(await get({}), '<p>\na b\n</p>');
    assert.equal(await get({ templateWhitespace: 'all' }), '<p>\n    a   b\n\n</p>');
    assert.equal(await get({ templateWhitespace: 'oneline' }), '<p> a b </p>');
  });

  test('compiledTemplateCache: an edit shows on the next request only when it is false', async () => {
    for (const [settings, expectEdit] of [
      [{}, false],
      [{ compiledTemplateCache: false }, true],
      [{ debug: true, autoreload: false }, true],
    ] as const) {
      const root = templateDir({
        'c.html': 'one',
        'inc.html': '{% include "part.html" %}',
        'part.html': 'p1',
      });
      const app = new Application([['/', Render]], { templatePath: root, ...settings });
      await withTestServer(app, async (srv) => {
        assert.equal(await (await srv.fetch(q('c.html'))).text(), 'one');
        assert.equal(await (await srv.fetch(q('inc.html'))).text(), 'p1');
        writeFileSync(join(root, 'c.html'), 'two');
        writeFileSync(join(root, 'part.html'), 'p2');
        assert.equal(await (await srv.fetch(q('c.html'))).text(), expectEdit ? 'two' : 'one');
        assert.equal(await (await srv.fetch(q('inc.html'))).text(), expectEdit ? 'p2' : 'p1');
      });
    }
    assert.equal(
      new Application([], { debug: true, autoreload: false }).settings.compiledTemplateCache,
      false,
    );
    assert.equal(
      new Application([], { debug: true, autoreload: false, compiledTemplateCache: true }).settings
        .compiledTemplateCache,
      true,
    );
  });

  test('one loader per application and template path; each template compiles once', async () => {
    const root = templateDir({ 'x.html': '{{ n }}' });
    const loaders: string[] = [];
    const compiled: string[] = [];
    class CountingLoader extends Loader {
      protected override createTemplate(name: string) {
        compiled.push(name);
        return super.createTemplate(name);
      }
    }
    class Counting extends Render {
      override createTemplateLoader(path: string): TemplateLoader {
        loaders.push(path);
        return new CountingLoader(path);
      }
    }
    const app = new Application([['/', Counting]], { templatePath: root });
    await withTestServer(app, async (srv) => {
      for (let n = 0; n < 3; n++) {
        assert.equal(await (await srv.fetch(q('x.html', { n }))).text(), String(n));
      }
    });
    assert.deepEqual(loaders, [root]);
    assert.deepEqual(compiled, ['x.html']);
    // A second application makes its own.
    await withTestServer(new Application([['/', Counting]], { templatePath: root }), (srv) =>
      srv.fetch(q('x.html', { n: 1 })).then((r) => r.text()),
    );
    assert.deepEqual(loaders, [root, root]);
    assert.deepEqual(compiled, ['x.html', 'x.html']);
  });

  test('the templateLoader setting and an overridden createTemplateLoader', async () => {
    const loader = new DictLoader({ 'd.html': 'dict {{ v }}' });
    await withTestServer(
      new Application([['/', Render]], { templateLoader: loader }),
      async (srv) => {
        assert.equal(await (await srv.fetch(q('d.html', { v: 1 }))).text(), 'dict 1');
      },
    );
    class Own extends Render {
      override createTemplateLoader(): TemplateLoader {
        return new DictLoader({ 'o.html': 'own {{ v }}' });
      }
    }
    await withTestServer(new Application([['/', Own]]), async (srv) => {
      assert.equal(await (await srv.fetch(q('o.html', { v: 2 }))).text(), 'own 2');
    });
  });

  test("Tornado's names in every template: handler, request, currentUser, reverseUrl, staticUrl", async () => {
    const root = templateDir({
      'names.html':
        '{{ handler.getStatus() }}|{{ request.path }}|{{ currentUser }}|' +
        '{{ reverseUrl("user", 42) }}|{{ staticUrl("app.css") }}|{{ staticUrl("app.css", false) }}|' +
        '{{ locale.code }}|{{ _("school") }}|{{ extra }}',
    });
    const staticPath = templateDir({ 'app.css': 'body { color: red }' });
    class Names extends RequestHandler {
      override getCurrentUser() {
        return 'ann';
      }
      override getTemplateNamespace(): TemplateNamespace {
        return { ...super.getTemplateNamespace(), extra: 'added' };
      }
      override get() {
        return this.render('names.html');
      }
    }
    await withTestServer(
      new Application([['/names', Names], url('/user/(\\d+)', Names, {}, 'user')], {
        templatePath: root,
        staticPath,
      }),
      async (srv) => {
        const text = await (await srv.fetch('/names')).text();
        const parts = text.split('|');
        assert.deepEqual(parts.slice(0, 4), ['200', '/names', 'ann', '/user/42']);
        assert.match(parts[4]!, /^\/static\/app\.css\?v=[0-9a-f]{32}$/);
        assert.equal(parts[5], '/static/app.css');
        assert.deepEqual(parts.slice(6), ['en_US', 'school', 'added']);
        // The URL it gave serves the file.
        assert.equal(await (await srv.fetch(parts[4]!)).text(), 'body { color: red }');
      },
    );
  });

  test('xsrfFormHtml() in a template writes the hidden input with the cookie token', async () => {
    const root = templateDir({ 'form.html': '<form>{% raw xsrfFormHtml() %}</form>' });
    await withTestServer(
      new Application([['/', Render]], { templatePath: root, xsrfCookies: true }),
      async (srv) => {
        const res = await srv.fetch(q('form.html'));
        const html = await res.text();
        const match = /^<form><input type="hidden" name="_xsrf" value="([^"]+)"\/><\/form>$/.exec(
          html,
        );
        assert.ok(match, html);
        assert.match(res.headers.get('set-cookie') ?? '', /^_xsrf=/);
        // The token it wrote is accepted by a POST with the cookie.
        const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
        const post = await srv.fetch('/', {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
          body: `_xsrf=${encodeURIComponent(match[1]!)}`,
        });
        assert.equal(await post.text(), 'posted');
      },
    );
  });

  test('a malformed template answers 500, logged, with the traceback only under serveTraceback', async () => {
    const root = templateDir({ 'bad.html': 'line one\n{% if x %}never closed' });
    for (const serveTraceback of [false, true]) {
      await withTestServer(
        new Application([['/', Render]], { templatePath: root, serveTraceback }),
        async (srv) => {
          const res = await claimLogs(
            [
              [appLog, /Uncaught exception GET \/\?t=bad\.html/],
              [accessLog, /^500 GET/],
            ],
            () => srv.fetch(q('bad.html')),
          );
          assert.equal(res.status, 500);
          const body = await res.text();
          if (serveTraceback) {
            assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
            assert.match(body, /^ParseError: Missing \{% end %\} block for if at bad\.html:2/);
          } else {
            assert.equal(
              body,
              '<html><title>500: Internal Server Error</title><body>500: Internal Server Error</body></html>',
            );
          }
        },
      );
    }
  });

  test('an error thrown while rendering names the template and line, and answers 500', async () => {
    const root = templateDir({
      'base.html': '<body>\n{% block b %}{% end %}</body>',
      'child.html': '{% extends "base.html" %}{% block b %}\n\n{{ user.name }}{% end %}',
    });
    const logged: string[] = [];
    await withTestServer(
      new Application([['/', Render]], {
        templatePath: root,
        serveTraceback: true,
      }),
      async (srv) => {
        const res = await claimLogs(
          [
            [appLog, /Uncaught exception/],
            [accessLog, /^500/],
          ],
          () => srv.fetch(q('child.html', { user: null })),
        );
        assert.equal(res.status, 500);
        const body = await res.text();
        logged.push(body.split('\n')[0]!);
      },
    );
    assert.match(logged[0]!, /^TypeError: .*\(at child\.html:3 via base\.html:2\)/);
  });

  test('a template name that leaves the template root is refused (500), never read', async () => {
    const outside = templateDir({ 'secret.html': 'SECRET', 'tpl/ok.html': 'ok' });
    const root = join(outside, 'tpl');
    symlinkSync(join(outside, 'secret.html'), join(root, 'link.html'));
    const srv = await serveApp([['/', Render]], { templatePath: root });
    try {
      assert.equal(await (await srv.fetch(q('ok.html'))).text(), 'ok');
      for (const name of [
        '../secret.html',
        join(outside, 'secret.html'),
        'a/../../secret.html',
        'link.html',
      ]) {
        const res = await claimLogs(
          [
            [appLog, /^Uncaught exception GET \/\?t=/],
            [accessLog, /^500/],
          ],
          () => srv.fetch(q(name)),
        );
        assert.equal(res.status, 500);
        assert.doesNotMatch(await res.text(), /SECRET/);
      }
    } finally {
      await srv.close();
    }
  });

  test('without templatePath or templateLoader, render answers 500 saying what to set', async () => {
    await withTestServer(
      new Application([['/', Render]], { serveTraceback: true }),
      async (srv) => {
        const res = await claimLogs(
          [
            [appLog, /Uncaught exception/],
            [accessLog, /^500/],
          ],
          () => srv.fetch(q('x.html')),
        );
        assert.match(await res.text(), /Set the 'templatePath' \(or 'templateLoader'\) setting/);
      },
    );
  });
});
