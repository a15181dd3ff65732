// Tornado's CSV translation files: BOM detection, Excel quoting, plural rows, bad rows named
// by file and line (test/fixtures/locale/csv*, and files written to a temp folder).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CSVLocale,
  Locale,
  getSupportedLocales,
  loadTranslations,
  setDefaultLocale,
} from '../../src/locale/index.ts';
import { parseCSV } from '../../src/locale/csv.ts';
import { TranslationError } from '../../src/errors.ts';
import { genLog } from '../../src/log.ts';
import { expectLog } from '../../src/testing.ts';

const fixtures = fileURLToPath(new URL('../fixtures/locale/', import.meta.url));
const CSV = join(fixtures, 'csv');
const temp = mkdtempSync(join(tmpdir(), 'typhoon-locale-csv-'));
after(() => rmSync(temp, { recursive: true, force: true }));

let dirs = 0;
/** A fresh folder holding the given files (name → bytes or text). */
function folder(files: Record<string, string | Buffer>): string {
  const dir = join(temp, String(dirs++));
  mkdirSync(dir);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}

test('Tornado test_csv: fr_FR.csv translates "school"', () => {
  loadTranslations(CSV);
  const locale = Locale.get('fr_FR');
  assert.ok(locale instanceof CSVLocale);
  assert.equal(locale.translate('school'), '\u00e9cole');
  assert.equal(locale.code, 'fr_FR');
  assert.equal(locale.name, 'Français');
});

test('only LANG.csv files are read; supported locales are those plus the default', () => {
  loadTranslations(CSV);
  assert.deepEqual([...getSupportedLocales()].sort(), [
    'de_DE',
    'en_US',
    'es_LA',
    'fr_FR',
    'pt_BR',
  ]);
  assert.throws(() => Locale.get('notes'), RangeError);
});

test('a UTF-16 file with a BOM is detected (little-endian fixture, big-endian temp file)', () => {
  loadTranslations(CSV);
  assert.equal(Locale.get('de_DE').translate('school'), 'Schule');
  assert.equal(Locale.get('de_DE').translate('Sign out'), 'Abmelden');
  const text = '"school","escuela"\n';
  const le = Buffer.from('\ufeff' + text, 'utf16le');
  const be = Buffer.alloc(le.length);
  for (let i = 0; i < le.length; i += 2) {
    be[i] = le[i + 1] as number;
    be[i + 1] = le[i] as number;
  }
  loadTranslations(folder({ 'es.csv': be }));
  assert.equal(Locale.get('es').translate('school'), 'escuela');
});

test('a UTF-8 BOM is dropped, not made part of the first message', () => {
  loadTranslations(CSV);
  assert.equal(Locale.get('pt_BR').translate('school'), 'escola');
});

test('Tornado test_csv_bom: the same file as utf-8-sig and utf-16 loads the same', () => {
  for (const bytes of [
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('"school","école"\n')]),
    Buffer.from('\ufeff"school","école"\n', 'utf16le'),
  ]) {
    loadTranslations(folder({ 'fr_FR.csv': bytes }));
    assert.equal(Locale.get('fr_FR').translate('school'), 'école');
  }
});

test('an explicit encoding is used for every file', () => {
  const dir = folder({ 'fr_FR.csv': Buffer.from('"school","\xe9cole"\n', 'latin1') });
  loadTranslations(dir, { encoding: 'latin1' });
  assert.equal(Locale.get('fr_FR').translate('school'), 'école');
});

test('bytes invalid in the encoding are a TranslationError naming the file', () => {
  const dir = folder({ 'fr_FR.csv': Buffer.from('"school","\xe9cole"\n', 'latin1') });
  assert.throws(
    () => loadTranslations(dir),
    (err: unknown) =>
      err instanceof TranslationError &&
      err.filename === join(dir, 'fr_FR.csv') &&
      /utf-8 in .*fr_FR\.csv$/.test(err.message),
  );
});

test('Excel quoting: doubled quotes, commas and line breaks inside quotes, trimmed cells', () => {
  loadTranslations(CSV);
  const fr = Locale.get('fr_FR');
  assert.equal(fr.translate('He said "hi", twice'), 'Il a dit "salut", deux fois');
  assert.equal(fr.translate('Line\nbreak'), 'Saut\nde ligne');
  assert.equal(fr.translate('padded'), 'rembourré');
  assert.equal(fr.translate('only one cell'), 'only one cell');
  // an empty third column means "unknown"
  assert.equal(fr.translate('Sign out'), 'Se déconnecter');
});

test('CRLF line ends (es_LA.csv) and Tornado docstring example', () => {
  loadTranslations(CSV);
  const es = Locale.get('es_LA');
  assert.equal(es.translate('I love you'), 'Te amo');
  assert.equal(es.name, 'Español');
  const m = '%(name)s liked this';
  assert.equal(es.translate(m, m, 1), 'A %(name)s le gustó esto');
  assert.equal(es.translate(m, m, 2), 'A %(name)s les gustó esto');
});

test('plural rows: count 1 reads singular rows, any other count plural rows', () => {
  loadTranslations(CSV);
  const fr = Locale.get('fr_FR');
  const m = '%(name)s liked this';
  assert.equal(fr.translate(m, m, 1), 'A %(name)s a aimé ça');
  assert.equal(fr.translate(m, m, 0), 'A %(name)s ont aimé ça');
  assert.equal(fr.translate(m, m, 5), 'A %(name)s ont aimé ça');
  // without a plural message only rows without an indicator are read
  assert.equal(fr.translate(m), m);
  // untranslated plural pairs pick by count
  assert.equal(fr.translate('one cat', 'many cats', 1), 'one cat');
  assert.equal(fr.translate('one cat', 'many cats', 3), 'many cats');
  assert.throws(() => fr.translate('one cat', 'many cats'), TypeError);
});

test('a bad row is a TranslationError naming the file and the line', () => {
  const bad = join(fixtures, 'csv-bad');
  assert.throws(
    () => loadTranslations(bad),
    (err: unknown) => {
      assert.ok(err instanceof TranslationError);
      assert.equal(err.errorCode, 'TYPHOON_TRANSLATION');
      assert.equal(err.filename, join(bad, 'fr_FR.csv'));
      assert.equal(err.lineno, 3);
      assert.match(
        err.message,
        /Unrecognized plural indicator 'singulier' in .*fr_FR\.csv line 3$/,
      );
      return true;
    },
  );
});

test('a failed load keeps the translations loaded before', () => {
  loadTranslations(CSV);
  assert.throws(() => loadTranslations(join(fixtures, 'csv-bad')), TranslationError);
  assert.equal(Locale.get('de_DE').translate('school'), 'Schule');
});

test('an unterminated quote is an error at the line its row starts on', () => {
  const dir = folder({ 'fr.csv': '"a","b"\n"c","d\n\ne,f\n' });
  assert.throws(
    () => loadTranslations(dir),
    (err: unknown) =>
      err instanceof TranslationError &&
      err.lineno === 2 &&
      /Unterminated quoted field in .*fr\.csv line 2$/.test(err.message),
  );
});

test('a .csv file whose name is not a locale code is skipped with an error logged', async () => {
  const dir = folder({ 'French.csv': '"a","b"\n', 'fr.csv': '"a","b"\n' });
  await expectLog(genLog, /Unrecognized locale 'French'/, () => loadTranslations(dir));
  assert.deepEqual([...getSupportedLocales()].sort(), ['en_US', 'fr']);
});

test('each load replaces what was loaded, and the Locale cache with it', () => {
  loadTranslations(CSV);
  const before = Locale.get('fr_FR');
  assert.equal(Locale.get('fr_FR'), before, 'cached between loads');
  loadTranslations(folder({ 'fr_FR.csv': '"school","lycée"\n' }));
  assert.notEqual(Locale.get('fr_FR'), before);
  assert.equal(Locale.get('fr_FR').translate('school'), 'lycée');
  assert.throws(() => Locale.get('de_DE'), RangeError);
});

test('pgettext on CSV translations ignores the context and warns once', async () => {
  loadTranslations(CSV);
  const fr = Locale.get('fr_FR');
  await expectLog(genLog, 'pgettext is not supported by CSVLocale', () => {
    assert.equal(fr.pgettext('school building', 'school'), 'école');
    assert.equal(fr.pgettext('law', 'Sign out'), 'Se déconnecter');
  });
  // a locale without translations has nothing to warn about
  setDefaultLocale('en_US');
  assert.equal(Locale.get('en_US').pgettext('ctx', 'school'), 'school');
});

test('parseCSV follows Python csv (excel): records, line numbers, lenient quotes', () => {
  assert.deepEqual(parseCSV('a,b\r\n\r\n"c\r\nd",e\rf,"g""h"'), [
    { fields: ['a', 'b'], line: 1 },
    { fields: ['c\nd', 'e'], line: 3 },
    { fields: ['f', 'g"h'], line: 5 },
  ]);
  // text after a closing quote is kept, a quote inside an unquoted field is literal
  assert.deepEqual(parseCSV('"a"b,c"d\n'), [{ fields: ['ab', 'c"d'], line: 1 }]);
  assert.deepEqual(parseCSV(',\n'), [{ fields: ['', ''], line: 1 }]);
  assert.deepEqual(parseCSV(''), []);
});
