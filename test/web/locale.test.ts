// RequestHandler.locale over real HTTP: chosen from Accept-Language with q-values (as Tornado
// parses it), the defaultLocale setting, getUserLocale() winning, an assigned locale, and `_`,
// `pgettext` and `locale` in templates and UI modules.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { genLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';
import { DictLoader } from '../../src/template/index.ts';
import {
  Locale,
  loadGettextTranslations,
  loadTranslations,
  type Locale as LocaleType,
} from '../../src/locale/index.ts';
import {
  Application,
  RequestHandler,
  UIModule,
  type ApplicationSettings,
} from '../../src/web/index.ts';
import { parseAcceptLanguage } from '../../src/web/templates.ts';
import { withTestServer } from '../helpers/server.ts';

const fixtures = (path: string) =>
  fileURLToPath(new URL(`../fixtures/locale/${path}`, import.meta.url));

class LocaleModule extends UIModule {
  override render() {
    return this.locale.code;
  }
}

const TEMPLATES = {
  'page.html': '{{ locale.code }}|{{ _("Sign out") }}|{% module LocaleModule() %}',
  'plural.html': '{{ _("%(name)s liked this", "%(name)s liked this", n) }}',
};

/** Answers the template `?t=` (default page.html) in the request's locale. */
class Page extends RequestHandler {
  override get() {
    return this.render(this.getArgument('t', 'page.html'), {
      n: Number(this.getArgument('n', '1')),
    });
  }
}

async function pageFor(
  acceptLanguage: string | null,
  settings: ApplicationSettings = {},
  handler: typeof RequestHandler = Page,
): Promise<string> {
  const app = new Application([['/', handler as typeof Page]], {
    templateLoader: new DictLoader(TEMPLATES),
    uiModules: { LocaleModule },
    ...settings,
  });
  return withTestServer(app, (srv) => httpGet(srv.port, '/', acceptLanguage));
}

/**
 * GET with node:http, which (unlike fetch, which sends `Accept-Language: *`) sends no
 * Accept-Language unless given one.
 */
function httpGet(port: number, path: string, acceptLanguage: string | null): Promise<string> {
  const headers: Record<string, string> = {};
  if (acceptLanguage !== null) headers['accept-language'] = acceptLanguage;
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

describe('Accept-Language parsing (Tornado get_browser_locale)', () => {
  test('orders by q, keeps header order on ties, skips q <= 0 and malformed q', () => {
    assert.deepEqual(parseAcceptLanguage('fr-FR'), ['fr-FR']);
    assert.deepEqual(parseAcceptLanguage('es;q=0.5, fr_FR;q=0.8, de'), ['de', 'fr_FR', 'es']);
    assert.deepEqual(parseAcceptLanguage('a;q=0.5,b;q=0.5,c'), ['c', 'a', 'b']);
    assert.deepEqual(parseAcceptLanguage('fr;q=0, es;q=-1, de;q=abc, pt;q=, en;q=0x1'), []);
    assert.deepEqual(parseAcceptLanguage('fr;q=1e-1, es;q= 0.2 , de;q=inf'), ['de', 'es', 'fr']);
    assert.deepEqual(parseAcceptLanguage('fr;level=1;q=0.1, es'), ['fr', 'es']);
    assert.deepEqual(parseAcceptLanguage(''), ['']);
    assert.deepEqual(parseAcceptLanguage('fr;q=nan, es;q=NaN'), []);
  });
});

describe('RequestHandler.locale', () => {
  before(() => {
    loadTranslations(fixtures('csv'));
  });

  test('no Accept-Language (or `*`): en_US, messages unchanged', async () => {
    assert.equal(await pageFor(null), 'en_US|Sign out|en_US');
    assert.equal(await pageFor('*'), 'en_US|Sign out|en_US');
  });

  test('the CSV locale the browser asks for translates `_` (region and separators folded)', async () => {
    assert.equal(await pageFor('fr-FR'), 'fr_FR|Se déconnecter|fr_FR');
    assert.equal(await pageFor('fr_fr'), 'fr_FR|Se déconnecter|fr_FR');
    assert.equal(await pageFor('de-DE,en;q=0.5'), 'de_DE|Abmelden|de_DE');
  });

  test('q-values choose among loaded locales; q=0 and bad q are skipped', async () => {
    assert.equal(await pageFor('de-DE;q=0.5, fr-FR;q=0.8'), 'fr_FR|Se déconnecter|fr_FR');
    assert.equal(await pageFor('fr-FR;q=0, de-DE;q=0.1'), 'de_DE|Abmelden|de_DE');
    assert.equal(await pageFor('fr-FR;q=bad, de-DE;q=0.1'), 'de_DE|Abmelden|de_DE');
    assert.equal(await pageFor('fr-FR;q=-1'), 'en_US|Sign out|en_US');
    // Nothing loaded matches: the default locale.
    assert.equal(await pageFor('ja, zh-TW;q=0.9'), 'en_US|Sign out|en_US');
  });

  test('plural forms through `_` with a count', async () => {
    const plural = async (n: number) =>
      withTestServer(
        new Application([['/', Page]], { templateLoader: new DictLoader(TEMPLATES) }),
        async (srv) =>
          (
            await srv.fetch(`/?t=plural.html&n=${n}`, { headers: { 'accept-language': 'fr-FR' } })
          ).text(),
      );
    assert.equal(await plural(1), 'A %(name)s a aimé ça');
    assert.equal(await plural(2), 'A %(name)s ont aimé ça');
  });

  test('the defaultLocale setting answers a browser asking for nothing loaded', async () => {
    assert.equal(await pageFor('ja', { defaultLocale: 'de_DE' }), 'de_DE|Abmelden|de_DE');
    assert.equal(await pageFor(null, { defaultLocale: 'de_DE' }), 'de_DE|Abmelden|de_DE');
    assert.equal(await pageFor('fr', { defaultLocale: 'de_DE' }), 'de_DE|Abmelden|de_DE');
    assert.equal(await pageFor('fr-FR', { defaultLocale: 'de_DE' }), 'fr_FR|Se déconnecter|fr_FR');
  });

  test('getUserLocale() wins over the browser and is asked once per request', async () => {
    let asked = 0;
    class UserLocale extends Page {
      override getUserLocale(): LocaleType {
        asked++;
        return Locale.get('de_DE');
      }
    }
    assert.equal(await pageFor('fr-FR', {}, UserLocale), 'de_DE|Abmelden|de_DE');
    assert.equal(asked, 1);
    class NoPreference extends Page {
      override getUserLocale(): null {
        asked++;
        return null;
      }
    }
    assert.equal(await pageFor('fr-FR', {}, NoPreference), 'fr_FR|Se déconnecter|fr_FR');
    assert.equal(asked, 2);
  });

  test('this.locale is assignable (e.g. in prepare) and the assignment wins', async () => {
    class Assigned extends Page {
      override prepare() {
        this.locale = Locale.get('fr_FR');
      }
      override getUserLocale(): LocaleType {
        throw new Error('not asked once assigned');
      }
    }
    assert.equal(await pageFor('de-DE', {}, Assigned), 'fr_FR|Se déconnecter|fr_FR');
    class Bad extends RequestHandler {
      override get() {
        assert.throws(() => {
          (this as { locale: unknown }).locale = 'fr_FR';
        }, TypeError);
        this.write(this.locale.code);
      }
    }
    assert.equal(await pageFor(null, {}, Bad), 'en_US');
  });

  test('getBrowserLocale(defaultCode) takes another default for a request without Accept-Language', async () => {
    class Browser extends RequestHandler {
      override get() {
        this.write(`${this.getBrowserLocale().code}/${this.getBrowserLocale('de_DE').code}`);
      }
    }
    assert.equal(await pageFor(null, {}, Browser), 'en_US/de_DE');
    assert.equal(await pageFor('fr-FR', {}, Browser), 'fr_FR/fr_FR');
  });
});

describe('pgettext in templates', () => {
  test('gettext translations: pgettext with contexts; CSV: the context ignored, warned once', async () => {
    const templates = {
      'p.html': '{{ pgettext("law", "right") }}|{{ pgettext("good", "right") }}',
    };
    class P extends RequestHandler {
      override get() {
        return this.render('p.html');
      }
    }
    const get = (acceptLanguage: string, loader = new DictLoader(templates)) =>
      withTestServer(new Application([['/', P]], { templateLoader: loader }), (srv) =>
        httpGet(srv.port, '/', acceptLanguage),
      );
    await loadGettextTranslations(fixtures('gettext'), 'typhoon_test');
    assert.equal(await get('fr-FR'), 'le droit|le bien');
    // `fr` alone does not match fr_FR (as in Tornado): the default locale.
    assert.equal(await get('fr'), 'right|right');
    loadTranslations(fixtures('csv'));
    await expectLog(genLog, 'pgettext is not supported by CSVLocale', async () => {
      const loader = new DictLoader({ 'p.html': '{{ pgettext("x", "school") }}' });
      assert.equal(await get('fr-FR', loader), 'école');
    });
  });
});
