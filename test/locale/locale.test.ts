// Locale: Tornado's locale_test.py cases (English dates, days, lists, numbers, names) and the
// rules of getClosest, the default locale and the registry.
import { test, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CSVLocale,
  LOCALE_NAMES,
  Locale,
  getSupportedLocales,
  loadTranslations,
  setDefaultLocale,
} from '../../src/locale/index.ts';

const CSV = fileURLToPath(new URL('../fixtures/locale/csv', import.meta.url));
const temp = mkdtempSync(join(tmpdir(), 'typhoon-locale-'));
after(() => rmSync(temp, { recursive: true, force: true }));
let dirs = 0;
function folder(files: Record<string, string>): string {
  const dir = join(temp, String(dirs++));
  mkdirSync(dir);
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
  return dir;
}
const EMPTY = folder({});

beforeEach(() => {
  setDefaultLocale('en_US');
  loadTranslations(EMPTY);
});

const MONTHS =
  'January February March April May June July August September October November December'.split(
    ' ',
  );
const WEEKDAYS = 'Sunday Monday Tuesday Wednesday Thursday Friday Saturday'.split(' ');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const en = (): Locale => Locale.get('en_US');

test("Locale.get('en_US') works with nothing loaded and translates to itself", () => {
  const locale = en();
  assert.ok(locale instanceof CSVLocale);
  assert.equal(locale.code, 'en_US');
  assert.equal(locale.name, 'English (US)');
  assert.equal(locale.rtl, false);
  assert.equal(locale.translate('Sign out'), 'Sign out');
  assert.equal(locale.translate('1 item', '%(n)s items', 1), '1 item');
  assert.equal(locale.translate('1 item', '%(n)s items', 2), '%(n)s items');
  assert.deepEqual([...getSupportedLocales()], ['en_US']);
});

test('Locale.get of a code that is neither loaded nor the default throws RangeError', () => {
  assert.throws(() => Locale.get('fr_FR'), /not a supported locale/);
});

test('Tornado test_format_date: a fixed date in full format', () => {
  const date = Date.UTC(2013, 3, 28, 18, 35);
  assert.equal(en().formatDate(date, { fullFormat: true }), 'April 28, 2013 at 6:35 pm');
  assert.equal(en().formatDate(new Date(date), { fullFormat: true }), 'April 28, 2013 at 6:35 pm');
  assert.equal(en().formatDate(date, { fullFormat: true, shorter: true }), 'April 28, 2013');
  // midnight and noon on the 12-hour clock
  assert.equal(
    en().formatDate(Date.UTC(2013, 3, 28, 0, 5), { fullFormat: true }),
    'April 28, 2013 at 12:05 am',
  );
  assert.equal(
    en().formatDate(Date.UTC(2013, 3, 28, 12, 0), { fullFormat: true }),
    'April 28, 2013 at 12:00 pm',
  );
});

test('Tornado test_format_date: relative seconds, minutes, hours', () => {
  const now = Date.now();
  assert.equal(en().formatDate(now - 2 * SECOND), '2 seconds ago');
  assert.equal(en().formatDate(now - 2 * MINUTE), '2 minutes ago');
  assert.equal(en().formatDate(now - 2 * HOUR), '2 hours ago');
});

test('relative boundaries: 1 second, 50 s, rounding half to even, 50 minutes', () => {
  const now = Date.now();
  assert.equal(en().formatDate(now - 1 * SECOND - 100), '1 second ago');
  assert.equal(en().formatDate(now - 49 * SECOND - 100), '49 seconds ago');
  assert.equal(en().formatDate(now - 50 * SECOND), '1 minute ago');
  assert.equal(en().formatDate(now - 90 * SECOND), '2 minutes ago'); // 1.5 → 2
  assert.equal(en().formatDate(now - 150 * SECOND), '2 minutes ago'); // 2.5 → 2 (Python round)
  assert.equal(en().formatDate(now - 49 * MINUTE), '49 minutes ago');
  assert.equal(en().formatDate(now - 50 * MINUTE), '1 hour ago');
  assert.equal(en().formatDate(now - 23 * HOUR), '23 hours ago');
});

test('Tornado test_format_date: shorter forms for days ago', () => {
  const now = Date.now();
  assert.equal(en().formatDate(now - DAY, { shorter: true }), 'yesterday');
  let date = new Date(now - 2 * DAY);
  assert.equal(en().formatDate(date, { shorter: true }), WEEKDAYS[date.getUTCDay()]);
  date = new Date(now - 300 * DAY);
  assert.equal(
    en().formatDate(date, { shorter: true }),
    `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}`,
  );
  date = new Date(now - 500 * DAY);
  assert.equal(
    en().formatDate(date, { shorter: true }),
    `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${date.getUTCFullYear()}`,
  );
});

/** Tornado's time of day for the English locale, from a date read in UTC. */
function clock(date: Date): string {
  const h = date.getUTCHours();
  return `${h % 12 || 12}:${String(date.getUTCMinutes()).padStart(2, '0')} ${h >= 12 ? 'pm' : 'am'}`;
}

test('longer forms carry the time; relative: false drops "ago" and "yesterday"', () => {
  const now = Date.now();
  const yesterday = new Date(now - DAY);
  assert.equal(en().formatDate(yesterday), `yesterday at ${clock(yesterday)}`);
  const threeDays = new Date(now - 3 * DAY);
  assert.equal(
    en().formatDate(threeDays),
    `${WEEKDAYS[threeDays.getUTCDay()]} at ${clock(threeDays)}`,
  );
  const hourAgo = new Date(now - 2 * HOUR);
  assert.equal(en().formatDate(hourAgo, { relative: false }), clock(hourAgo));
  assert.equal(
    en().formatDate(yesterday, { relative: false, shorter: true }),
    WEEKDAYS[yesterday.getUTCDay()],
  );
});

test('a future date is in full format, except clock skew under a minute counts as now', () => {
  const now = Date.now();
  assert.equal(en().formatDate(now + 30 * SECOND), '0 seconds ago');
  const future = new Date(now + 2 * HOUR);
  assert.equal(
    en().formatDate(future),
    `${MONTHS[future.getUTCMonth()]} ${future.getUTCDate()}, ${future.getUTCFullYear()} at ${clock(future)}`,
  );
});

test("gmtOffset shifts to the reader's zone with getTimezoneOffset's sign", () => {
  const date = Date.UTC(2013, 3, 28, 18, 35);
  // UTC-7 (getTimezoneOffset() === 420): 11:35 am the same day
  assert.equal(
    en().formatDate(date, { fullFormat: true, gmtOffset: 420 }),
    'April 28, 2013 at 11:35 am',
  );
  // UTC+9 (-540): the next day
  assert.equal(
    en().formatDate(date, { fullFormat: true, gmtOffset: -540 }),
    'April 29, 2013 at 3:35 am',
  );
  assert.equal(en().formatDay(date, { gmtOffset: -540 }), 'Monday, April 29');
});

test('other locales: 24-hour clock and month names through translate; zh_CN 上午/下午', () => {
  loadTranslations(CSV);
  const date = Date.UTC(2013, 3, 28, 18, 35);
  assert.equal(
    Locale.get('fr_FR').formatDate(date, { fullFormat: true }),
    'avril 28, 2013 at 18:35',
  );
  assert.equal(
    Locale.get('de_DE').formatDate(date, { fullFormat: true }),
    'April 28, 2013 at 18:35',
  );
  setDefaultLocale('zh_CN');
  const zh = Locale.get('zh_CN');
  assert.equal(zh.name, '中文(简体)');
  assert.equal(zh.formatDate(date, { fullFormat: true }), 'April 28, 2013 at 下午6:35');
  assert.equal(
    zh.formatDate(Date.UTC(2013, 3, 28, 9, 5), { fullFormat: true }),
    'April 28, 2013 at 上午9:05',
  );
});

test('formatDate refuses what is not a date', () => {
  assert.throws(() => en().formatDate(Number.NaN), TypeError);
  assert.throws(() => en().formatDate(new Date('nope')), TypeError);
});

test('Tornado test_format_day', () => {
  const date = Date.UTC(2013, 3, 28, 18, 35);
  assert.equal(en().formatDay(date, { dow: true }), 'Sunday, April 28');
  assert.equal(en().formatDay(new Date(date)), 'Sunday, April 28');
  assert.equal(en().formatDay(date, { dow: false }), 'April 28');
  loadTranslations(CSV);
  assert.equal(Locale.get('fr_FR').formatDay(date), 'dimanche 28 avril');
});

test('Tornado test_list, and the translated and Persian forms', () => {
  assert.equal(en().list([]), '');
  assert.equal(en().list(['A']), 'A');
  assert.equal(en().list(['A', 'B']), 'A and B');
  assert.equal(en().list(['A', 'B', 'C']), 'A, B and C');
  loadTranslations(CSV);
  assert.equal(Locale.get('fr_FR').list(['A', 'B', 'C']), 'A, B et C');
  setDefaultLocale('fa_IR');
  assert.equal(Locale.get('fa_IR').list(['A', 'B', 'C']), 'A و B and C');
});

test('Tornado test_friendly_number, and signs, fractions, bigints, other locales', () => {
  assert.equal(en().friendlyNumber(1000000), '1,000,000');
  assert.equal(en().friendlyNumber(1234567), '1,234,567');
  assert.equal(en().friendlyNumber(999), '999');
  assert.equal(en().friendlyNumber(0), '0');
  assert.equal(en().friendlyNumber(-1234), '-1,234');
  assert.equal(en().friendlyNumber(-100), '-100');
  assert.equal(en().friendlyNumber(1234.5), '1,234.5');
  assert.equal(en().friendlyNumber(12345678901234567890n), '12,345,678,901,234,567,890');
  loadTranslations(CSV);
  assert.equal(Locale.get('fr_FR').friendlyNumber(1000000), '1000000');
});

test('Tornado test_non_ascii_name: native names from the locale table', () => {
  const name = LOCALE_NAMES.es_LA?.name;
  assert.equal(name, 'Espa\u00f1ol');
  assert.deepEqual(
    Buffer.from(name ?? ''),
    Buffer.from([0x45, 0x73, 0x70, 0x61, 0xc3, 0xb1, 0x6f, 0x6c]),
  );
  assert.equal(LOCALE_NAMES.zh_CN?.name, '中文(简体)');
  assert.equal(LOCALE_NAMES.zh_CN?.nameEn, 'Chinese (Simplified)');
  assert.equal(Object.keys(LOCALE_NAMES).length, 62);
  assert.equal(LOCALE_NAMES.constructor, undefined, 'no inherited entries');
  loadTranslations(folder({ 'fr.csv': '"a","b"\n' }));
  assert.equal(Locale.get('fr').name, 'Unknown');
});

test('rtl for Persian, Arabic and Hebrew', () => {
  for (const [code, rtl] of [
    ['fa_IR', true],
    ['ar_AR', true],
    ['he_IL', true],
    ['fr_FR', false],
    ['en_US', false],
  ] as const) {
    setDefaultLocale(code);
    assert.equal(Locale.get(code).rtl, rtl, code);
  }
});

test("getClosest: Tornado's rules for case, separators, bare languages and the default", () => {
  loadTranslations(CSV); // de_DE es_LA fr_FR pt_BR
  assert.equal(Locale.getClosest('fr').code, 'en_US', 'fr does not match fr_FR');
  assert.equal(Locale.getClosest('fr-FR').code, 'fr_FR');
  assert.equal(Locale.getClosest('FR_fr').code, 'fr_FR');
  assert.equal(Locale.getClosest('fr_FR').code, 'fr_FR');
  assert.equal(Locale.getClosest('xx', 'de-de').code, 'de_DE', 'first match in order');
  assert.equal(Locale.getClosest(null, undefined, '', 'es-la').code, 'es_LA');
  assert.equal(Locale.getClosest('fr-FR-x-foo').code, 'en_US', 'three parts are skipped');
  assert.equal(Locale.getClosest().code, 'en_US');
  loadTranslations(folder({ 'fr.csv': '"a","b"\n' }));
  assert.equal(Locale.getClosest('fr_CA').code, 'fr', 'a region falls back to its language');
  assert.equal(Locale.getClosest('FR-ca').code, 'fr');
});

test('setDefaultLocale: the fallback of getClosest and always supported', () => {
  loadTranslations(CSV);
  setDefaultLocale('fr_FR');
  assert.equal(Locale.getClosest('ja').code, 'fr_FR');
  assert.deepEqual([...getSupportedLocales()].sort(), ['de_DE', 'es_LA', 'fr_FR', 'pt_BR']);
  setDefaultLocale('ja_JP');
  assert.equal(Locale.getClosest('ko').code, 'ja_JP');
  assert.equal(Locale.get('ja_JP').name, '日本語');
  assert.ok(getSupportedLocales().has('ja_JP'));
  assert.throws(() => setDefaultLocale(''), TypeError);
});

test('getSupportedLocales returns a copy', () => {
  const set = getSupportedLocales();
  set.add('xx');
  assert.equal(getSupportedLocales().has('xx'), false);
});
