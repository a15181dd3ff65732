// gettext .mo catalogs (compiled by GNU msgfmt: test/fixtures/locale/make-mo.sh): Tornado's
// test_gettext cases, Plural-Forms from the header, charsets, broken files; and the
// Plural-Forms compiler with its limits.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CSVLocale,
  GettextLocale,
  Locale,
  getSupportedLocales,
  loadGettextTranslations,
  loadTranslations,
} from '../../src/locale/index.ts';
import {
  MAX_PLURAL_DEPTH,
  MAX_PLURAL_EXPRESSION,
  compilePluralForms,
} from '../../src/locale/plural.ts';
import { TranslationError } from '../../src/errors.ts';

const GETTEXT = fileURLToPath(new URL('../fixtures/locale/gettext', import.meta.url));
const DOMAIN = 'typhoon_test';
const temp = mkdtempSync(join(tmpdir(), 'typhoon-gettext-'));
after(() => rmSync(temp, { recursive: true, force: true }));

test('Tornado test_gettext: translate and pgettext with contexts and plurals', async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  const locale = Locale.get('fr_FR');
  assert.ok(locale instanceof GettextLocale);
  assert.equal(locale.translate('school'), '\u00e9cole');
  assert.equal(locale.pgettext('law', 'right'), 'le droit');
  assert.equal(locale.pgettext('good', 'right'), 'le bien');
  assert.equal(locale.pgettext('organization', 'club', 'clubs', 1), 'le club');
  assert.equal(locale.pgettext('organization', 'club', 'clubs', 2), 'les clubs');
  assert.equal(locale.pgettext('stick', 'club', 'clubs', 1), 'le b\xe2ton');
  assert.equal(locale.pgettext('stick', 'club', 'clubs', 2), 'les b\xe2tons');
});

test('pgettext falls back as Tornado does: bare message, or the plural without context', async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  const fr = Locale.get('fr_FR');
  assert.equal(fr.pgettext('nowhere', 'school'), 'school');
  assert.equal(fr.pgettext('nowhere', 'club', 'clubs', 2), 'des clubs');
  assert.equal(fr.pgettext('nowhere', 'cat', 'cats', 1), 'cat');
  // without a context, "right" has no translation
  assert.equal(fr.translate('right'), 'right');
});

test("the .mo header's Plural-Forms decides: French n > 1 (0 is singular)", async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  const fr = Locale.get('fr_FR');
  const [one, many] = ['%(count)d apple', '%(count)d apples'];
  assert.equal(fr.translate(one, many, 0), '%(count)d pomme');
  assert.equal(fr.translate(one, many, 1), '%(count)d pomme');
  assert.equal(fr.translate(one, many, 2), '%(count)d pommes');
  // untranslated pairs choose by count === 1, as gettext's fallback does
  assert.equal(fr.translate('a cat', 'cats', 0), 'cats');
  assert.throws(() => fr.translate(one, many), TypeError);
});

test('three plural forms (Polish)', async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  const pl = Locale.get('pl_PL');
  const t = (n: number) => pl.translate('%(count)d file', '%(count)d files', n);
  assert.equal(t(1), '%(count)d plik');
  assert.equal(t(2), '%(count)d pliki');
  assert.equal(t(4), '%(count)d pliki');
  assert.equal(t(5), '%(count)d plików');
  assert.equal(t(12), '%(count)d plików');
  assert.equal(t(22), '%(count)d pliki');
  assert.equal(t(0), '%(count)d plików');
  assert.equal(pl.name, 'Polski');
});

test('no Plural-Forms: the English rule; a KOI8-R catalog is decoded', async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  const ru = Locale.get('ru_RU');
  assert.equal(ru.translate('school'), 'школа');
  assert.equal(ru.translate('%(count)d file', '%(count)d files', 1), '%(count)d файл');
  assert.equal(ru.translate('%(count)d file', '%(count)d files', 0), '%(count)d файлы');
});

test('months and date formats go through the catalog', async () => {
  await loadGettextTranslations(GETTEXT, DOMAIN);
  assert.equal(
    Locale.get('fr_FR').formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true }),
    '28 avril 2013 à 18:35',
  );
  assert.equal(Locale.get('fr_FR').formatDay(Date.UTC(2013, 3, 28)), 'dimanche, avril 28');
});

test('a gettext load replaces CSV translations; the default stays a plain locale', async () => {
  loadTranslations(fileURLToPath(new URL('../fixtures/locale/csv', import.meta.url)));
  assert.ok(Locale.get('fr_FR') instanceof CSVLocale);
  await loadGettextTranslations(GETTEXT, DOMAIN);
  assert.ok(Locale.get('fr_FR') instanceof GettextLocale);
  assert.deepEqual([...getSupportedLocales()].sort(), ['en_US', 'fr_FR', 'pl_PL', 'ru_RU']);
  assert.ok(Locale.get('en_US') instanceof CSVLocale);
  assert.equal(Locale.getClosest('fr').code, 'en_US', 'fr with only fr_FR loaded → default');
  // another domain finds nothing
  await loadGettextTranslations(GETTEXT, 'other');
  assert.deepEqual([...getSupportedLocales()], ['en_US']);
});

test('a file that is not a catalog is a TranslationError naming it', async () => {
  const dir = join(temp, 'broken');
  mkdirSync(join(dir, 'de', 'LC_MESSAGES'), { recursive: true });
  const file = join(dir, 'de', 'LC_MESSAGES', `${DOMAIN}.mo`);
  writeFileSync(file, 'this is not a .mo file at all');
  await assert.rejects(
    loadGettextTranslations(dir, DOMAIN),
    (err: unknown) =>
      err instanceof TranslationError && err.filename === file && /\.mo file/.test(err.message),
  );
  // a truncated catalog with a valid magic number
  copyFileSync(join(GETTEXT, 'fr_FR', 'LC_MESSAGES', `${DOMAIN}.mo`), file);
  writeFileSync(file, readFileSync(file).subarray(0, 40));
  await assert.rejects(loadGettextTranslations(dir, DOMAIN), TranslationError);
});

test('a bad Plural-Forms header is a TranslationError naming the file', async () => {
  const { mo } = await import('gettext-parser');
  const dir = join(temp, 'bad-plural');
  mkdirSync(join(dir, 'fr', 'LC_MESSAGES'), { recursive: true });
  const file = join(dir, 'fr', 'LC_MESSAGES', `${DOMAIN}.mo`);
  writeFileSync(
    file,
    mo.compile({
      charset: 'utf-8',
      headers: {
        'Content-Type': 'text/plain; charset=UTF-8',
        'Plural-Forms': 'nplurals=2; plural=(n > 1;',
      },
      translations: { '': { school: { msgid: 'school', msgstr: ['école'] } } },
    }),
  );
  await assert.rejects(
    loadGettextTranslations(dir, DOMAIN),
    (err: unknown) =>
      err instanceof TranslationError &&
      err.filename === file &&
      /Bad Plural-Forms/.test(err.message),
  );
});

test('compilePluralForms: the C grammar of gettext rules', () => {
  const rule = (s: string) => compilePluralForms(s);
  assert.equal(rule('nplurals=1; plural=0;')(5), 0);
  const germanic = rule('nplurals=2; plural=(n != 1);');
  assert.deepEqual([0, 1, 2].map(germanic), [1, 0, 1]);
  const russian = rule(
    'nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);',
  );
  assert.deepEqual([1, 2, 5, 11, 21, 22, 25, 111].map(russian), [0, 1, 2, 2, 0, 1, 2, 2]);
  // Arabic: six forms, nested ternaries
  const arabic = rule(
    'nplurals=6; plural=n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5;',
  );
  assert.deepEqual([0, 1, 2, 5, 11, 100].map(arabic), [0, 1, 2, 3, 4, 5]);
  assert.equal(rule('plural=!(n - 1)')(1), 1);
  assert.equal(rule('plural=n / 2 * 2 + n % 3 - 1')(7), 6 + 1 - 1);
  assert.equal(rule('plural=n / 0')(7), 0, 'no division by zero failure');
  for (const bad of ['plural=(n > 1', 'plural=n >', 'plural=n ** 2', 'plural=m']) {
    assert.throws(() => rule(bad), SyntaxError, bad);
  }
  assert.throws(() => rule('plural=require("fs")'), SyntaxError, 'no code, only the grammar');
});

test(`compilePluralForms limits: ${MAX_PLURAL_EXPRESSION} characters, ${MAX_PLURAL_DEPTH} levels`, () => {
  const long = 'n' + '+0'.repeat(498) + '+00';
  assert.equal(long.length, MAX_PLURAL_EXPRESSION);
  assert.equal(compilePluralForms(`plural=${long}`)(3), 3);
  assert.throws(() => compilePluralForms(`plural=${long}0`), /too long/);
  const nested = (depth: number) => '('.repeat(depth) + 'n' + ')'.repeat(depth);
  assert.equal(compilePluralForms(`plural=${nested(MAX_PLURAL_DEPTH - 1)}`)(4), 4);
  assert.throws(() => compilePluralForms(`plural=${nested(MAX_PLURAL_DEPTH)}`), /too deeply/);
  assert.throws(
    () => compilePluralForms(`plural=${'!'.repeat(MAX_PLURAL_DEPTH + 1)}n`),
    /too deeply/,
  );
});
