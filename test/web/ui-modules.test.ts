// UI methods and UI modules over real HTTP: how they are registered, what a module sees, one
// instance per name per request, resources inserted where Tornado 6.2 puts them (with
// duplicates dropped), the built-in Template module with setResources, and xsrfFormHtml.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessLog, appLog } from '../../src/log.ts';
import { DictLoader } from '../../src/template/index.ts';
import {
  Application,
  RequestHandler,
  UIModule,
  type ApplicationSettings,
} from '../../src/web/index.ts';
import { UIModule as RootUIModule, TemplateModule } from '../../src/index.ts';
import { claimLogs } from '../helpers/claim-logs.ts';
import { withTestServer } from '../helpers/server.ts';
import * as ui from '../fixtures/ui-modules/ui.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A static folder with the files the modules link to (so `staticUrl` versions them). */
function staticDir(): string {
  const root = mkdtempSync(join(tmpdir(), 'typhoon-ui-static-'));
  dirs.push(root);
  for (const name of ['w.js', 'w.css', 'o.css']) writeFileSync(join(root, name), `/* ${name} */`);
  return root;
}

/** Renders the template named by the path, with `?x=` as `x`. */
class Page extends RequestHandler {
  override getCurrentUser() {
    return this.getArgument('user', null);
  }
  override get(name: string) {
    return this.render(name, { x: this.getArgument('x', '') });
  }
}

function serve(
  templates: Record<string, string>,
  settings: ApplicationSettings,
  fn: (fetchText: (path: string) => Promise<string>) => Promise<void>,
): Promise<void> {
  const app = new Application([['/(.+)', Page]], {
    templateLoader: new DictLoader(templates),
    ...settings,
  });
  return withTestServer(app, (srv) => fn(async (path) => (await srv.fetch(path)).text()));
}

/** Uses every kind of resource. */
class Widget extends UIModule {
  static made = 0;
  constructor(...args: ConstructorParameters<typeof UIModule>) {
    super(...args);
    Widget.made++;
  }
  override render(label: string) {
    return `<b>${label}</b>`; // never escaped
  }
  override embeddedJavascript() {
    return 'w();';
  }
  override javascriptFiles() {
    return ['w.js', 'https://cdn.example/lib.js'];
  }
  override embeddedCss() {
    return '.w{}';
  }
  override cssFiles() {
    return 'w.css'; // a single name is one file
  }
  override htmlHead() {
    return '<meta name="w">';
  }
  override htmlBody() {
    return '<div id="wb"></div>';
  }
}

/** Repeats some of Widget's files: each is linked once. */
class Other extends UIModule {
  override render() {
    return '<i>o</i>';
  }
  override embeddedJavascript() {
    return 'o();';
  }
  override javascriptFiles() {
    return ['w.js', '/abs/o.js', 'w.js'];
  }
  override embeddedCss() {
    return '.o{}';
  }
  override cssFiles() {
    return ['w.css', 'o.css'];
  }
  override htmlHead() {
    return '<meta name="o">';
  }
  override htmlBody() {
    return '<div id="ob"></div>';
  }
}

/** Shows what a module sees. */
class Who extends UIModule {
  override render(n: number) {
    const mine = `${String(this.currentUser)}|${this.locale.code}|${this.request.path}|${this.handler instanceof Page}`;
    return `${mine}|${this.renderString('who.html', { n })}`;
  }
}

const PAGE =
  '<html><head><title>t</title></head><body>' +
  "{% module Widget('<a>') %}{% module Widget(x) %}{% module Other() %}</body></html>";

describe('UI modules', () => {
  test('UIModule is exported from typhoon and typhoon/web', () => {
    assert.equal(RootUIModule, UIModule);
    assert.ok(TemplateModule.prototype instanceof UIModule);
  });

  test('resources of every kind are inserted as Tornado 6.2 does, duplicates dropped', async () => {
    await serve(
      { 'page.html': PAGE },
      { uiModules: { Widget, Other }, staticPath: staticDir() },
      async (get) => {
        const html = (await get('/page.html?x=<y>')).replace(/\?v=[0-9a-f]{32}/g, '?v=H');
        assert.equal(
          html,
          '<html><head><title>t</title>' +
            '<link href="/static/w.css?v=H" type="text/css" rel="stylesheet"/>' +
            '<link href="/static/o.css?v=H" type="text/css" rel="stylesheet"/>\n' +
            '<style type="text/css">\n.w{}\n.o{}\n</style>\n' +
            '<meta name="w"><meta name="o">\n' +
            '</head><body><b><a></b><b><y></b><i>o</i>' +
            '<script src="/static/w.js?v=H" type="text/javascript"></script>' +
            '<script src="https://cdn.example/lib.js" type="text/javascript"></script>' +
            '<script src="/abs/o.js" type="text/javascript"></script>\n' +
            '<script type="text/javascript">\n//<![CDATA[\nw();\no();\n//]]>\n</script>\n' +
            '<div id="wb"></div><div id="ob"></div>\n' +
            '</body></html>',
        );
      },
    );
  });

  test('body resources go before the last </body>; a page without the tags still gets them', async () => {
    const templates = {
      'two.html': '<head></head><body><pre></body></pre>{% module Other() %}</body>',
      'bare.html': '{% module Other() %}',
    };
    const head =
      '<link href="/static/w.css?v=H" type="text/css" rel="stylesheet"/>' +
      '<link href="/static/o.css?v=H" type="text/css" rel="stylesheet"/>\n' +
      '<style type="text/css">\n.o{}\n</style>\n<meta name="o">\n';
    const body =
      '<script src="/static/w.js?v=H" type="text/javascript"></script>' +
      '<script src="/abs/o.js" type="text/javascript"></script>\n' +
      '<script type="text/javascript">\n//<![CDATA[\no();\n//]]>\n</script>\n' +
      '<div id="ob"></div>\n';
    await serve(templates, { uiModules: { Other }, staticPath: staticDir() }, async (get) => {
      const versionless = async (path: string) =>
        (await get(path)).replace(/\?v=[0-9a-f]{32}/g, '?v=H');
      assert.equal(
        await versionless('/two.html'),
        `<head>${head}</head><body><pre></body></pre><i>o</i>${body}</body>`,
      );
      assert.equal(await versionless('/bare.html'), `${head}<i>o</i>${body}`);
    });
  });

  test('one instance per module name per request; none for a page that uses none', async () => {
    Widget.made = 0;
    const templates = { 'page.html': PAGE, 'plain.html': '<head></head><body>plain</body>' };
    await serve(
      templates,
      { uiModules: { Widget, Other }, staticPath: staticDir() },
      async (get) => {
        await get('/page.html');
        assert.equal(Widget.made, 1);
        await get('/page.html');
        assert.equal(Widget.made, 2);
        assert.equal(await get('/plain.html'), '<head></head><body>plain</body>');
        assert.equal(Widget.made, 2);
      },
    );
  });

  test('a module sees the handler, request, locale, currentUser and renders templates', async () => {
    const templates = {
      'p.html': '{% module Who(1) %}/{% module Who(2) %}',
      'who.html': '{{ n }}:{{ currentUser }}:{{ request.path }}:{{ typeof x }}',
    };
    await serve(templates, { uiModules: { Who } }, async (get) => {
      assert.equal(
        await get('/p.html?user=ann&x=outer'),
        'ann|en_US|/p.html|true|1:ann:/p.html:undefined/ann|en_US|/p.html|true|2:ann:/p.html:undefined',
      );
    });
  });

  test('uiModules and uiMethods from a module namespace, an object or an array', async () => {
    const templates = {
      'm.html':
        "{{ stars(3) }}|{% module Badge('<new>') %}|{{ shout('hi') }}|" +
        '{{ typeof VERSION }}|{{ typeof _hidden }}|{{ typeof Capital }}',
    };
    const methods = {
      shout: (handler: RequestHandler, s: string) => `<${s.toUpperCase()}:${handler.getStatus()}>`,
      _hidden: () => 'no',
      Capital: () => 'no',
    };
    await serve(templates, { uiModules: ui, uiMethods: [ui, methods] }, async (get) => {
      // A UI method's output is escaped like any {{ }}; a module's is not.
      assert.equal(
        await get('/m.html'),
        '<link href="/css/badge.css" type="text/css" rel="stylesheet"/>\n' +
          'GET:***|<span class="badge"><new></span>|&lt;HI:200&gt;|undefined|undefined|undefined',
      );
    });
  });

  test('the Template module: its own namespace, setResources once per template file', async () => {
    const templates = {
      'list.html':
        '<html><head></head><body><ul>' +
        "{% for item in items %}{% module Template('item.html', {item}) %}{% end %}" +
        "</ul>{% module Template('other.html') %}</body></html>",
      'item.html':
        "{{ setResources({ cssFiles: '/item.css', embeddedJavascript: 'item();', htmlBody: '<p>i</p>' }) }}" +
        '<li>{{ item }}</li>',
      'other.html':
        "{{ setResources({ javascriptFiles: ['/o.js'], embeddedCss: 'o{}' }) }}" +
        '{{ typeof items }}|{{ typeof item }}|{{ typeof handler }}',
    };
    class List extends RequestHandler {
      override get() {
        return this.render('list.html', { items: ['a', '<b>', 'c'] });
      }
    }
    const app = new Application([['/', List]], { templateLoader: new DictLoader(templates) });
    await withTestServer(app, async (srv) => {
      assert.equal(
        await (await srv.fetch('/')).text(),
        '<html><head><link href="/item.css" type="text/css" rel="stylesheet"/>\n' +
          '<style type="text/css">\no{}\n</style>\n' +
          '</head><body><ul><li>a</li><li>&lt;b&gt;</li><li>c</li></ul>undefined|undefined|object' +
          '<script src="/o.js" type="text/javascript"></script>\n' +
          '<script type="text/javascript">\n//<![CDATA[\nitem();\n//]]>\n</script>\n' +
          '<p>i</p>\n</body></html>',
      );
    });
  });

  test('setResources with different resources for the same template answers 500', async () => {
    const templates = {
      'list.html': "{% for n in [1, 2] %}{% module Template('item.html', {n}) %}{% end %}",
      'item.html': "{{ setResources({ embeddedCss: '.n' + n + '{}' }) }}{{ n }}",
    };
    await serve(templates, { serveTraceback: true }, async (get) => {
      const body = await claimLogs(
        [
          [appLog, /^Uncaught exception GET \/list\.html/],
          [accessLog, /^500/],
        ],
        () => get('/list.html'),
      );
      assert.match(body, /setResources called with different resources for the same template/);
      assert.match(body, /item\.html:1/);
    });
  });

  test('the built-in xsrfFormHtml and linkify modules', async () => {
    const templates = {
      'f.html': '{% module xsrfFormHtml() %}|{% module linkify(x) %}',
    };
    await serve(templates, {}, async (get) => {
      const text = await get(
        `/f.html?x=${encodeURIComponent('see http://a.example/?q=1&r=2 <now>')}`,
      );
      assert.match(
        text,
        /^<input type="hidden" name="_xsrf" value="2\|[0-9a-f]+\|[0-9a-f]+\|\d+"\/>\|/,
      );
      assert.equal(
        text.split('|').slice(4).join('|'),
        'see <a href="http://a.example/?q=1&amp;r=2">http://a.example/?q=1&amp;r=2</a> &lt;now&gt;',
      );
    });
  });

  test('a module class that does not override render fails the page with a clear error', async () => {
    class Empty extends UIModule {}
    await serve(
      { 'e.html': '{% module Empty() %}' },
      { uiModules: { Empty }, serveTraceback: true },
      async (get) => {
        const body = await claimLogs(
          [
            [appLog, /^Uncaught exception/],
            [accessLog, /^500/],
          ],
          () => get('/e.html'),
        );
        assert.match(body, /^Error: Empty\.render\(\) is not implemented \(at e\.html:1\)/);
      },
    );
  });
});
