/**
 * The `Locale` class, the registry of loaded translations, and Tornado's English date, list
 * and number formats. The loaders (`csv.ts`, `gettext.ts`) fill the registry through
 * {@link installTranslations}; `index.ts` is the public face.
 * @module
 */
import { genLog } from '../log.ts';
import { LOCALE_NAMES } from './names.ts';

/** Makes the {@link Locale} for a code; one per loaded code, installed by a loader. */
export type LocaleFactory = (code: string) => Locale;

// The registry. Tornado keeps the same three module globals; a load replaces all of them at
// once (after the files were read without error), so a failed load leaves the last good set.
let defaultCode = 'en_US';
let factories: ReadonlyMap<string, LocaleFactory> = new Map();
let supported: ReadonlySet<string> = new Set([defaultCode]);
const cache = new Map<string, Locale>();

function rebuildSupported(): void {
  supported = new Set([...[...factories.keys()].sort(), defaultCode]);
  cache.clear();
}

/**
 * Replace the loaded translations with `next` (code → factory). Internal: used by
 * `loadTranslations` and `loadGettextTranslations`.
 */
export function installTranslations(next: ReadonlyMap<string, LocaleFactory>): void {
  factories = next;
  rebuildSupported();
  genLog.debug(`Supported locales: ${[...supported].sort().join(', ')}`);
}

/**
 * Set the default locale: the language every string in the code is written in, and the locale
 * {@link Locale.getClosest} falls back to. It needs no translation file. Default `en_US`.
 *
 * @example
 * ```ts
 * import { setDefaultLocale, Locale } from 'typhoon/locale';
 * setDefaultLocale('fr_FR');
 * Locale.getClosest('de').code; // 'fr_FR' when no German is loaded
 * ```
 * Tornado: `tornado.locale.set_default_locale`.
 */
export function setDefaultLocale(code: string): void {
  if (typeof code !== 'string' || code === '') {
    throw new TypeError('setDefaultLocale: the code must be a non-empty string');
  }
  defaultCode = code;
  rebuildSupported();
}

/**
 * The codes that have translations loaded, plus the default locale. A fresh set each call.
 *
 * @example
 * ```ts
 * loadTranslations('translations'); // es_LA.csv, fr_FR.csv
 * [...getSupportedLocales()]; // ['es_LA', 'fr_FR', 'en_US']
 * ```
 * Tornado: `tornado.locale.get_supported_locales`.
 */
export function getSupportedLocales(): Set<string> {
  return new Set(supported);
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
// Monday first, as Python's weekday() counts.
const WEEKDAYS = [
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
  'Sunday',
] as const;

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Options of {@link Locale.formatDate}. */
export interface FormatDateOptions {
  /**
   * Minutes to subtract from UTC to get the user's local time: the value of
   * `Date.prototype.getTimezoneOffset()` in the user's browser (positive west of Greenwich),
   * which is Tornado's sign. Default 0 (UTC).
   */
  gmtOffset?: number;
  /** Say "2 minutes ago", "yesterday"… for recent dates. Default true. */
  relative?: boolean;
  /** Leave the time out where a date is shown ("yesterday", "April 28"). Default false. */
  shorter?: boolean;
  /** Always the full date ("April 28, 2013 at 6:35 pm"). Default false. */
  fullFormat?: boolean;
}

/** Options of {@link Locale.formatDay}. */
export interface FormatDayOptions {
  /** Minutes to subtract from UTC, as in {@link FormatDateOptions.gmtOffset}. Default 0. */
  gmtOffset?: number;
  /** Include the day of the week ("Sunday, April 28"). Default true. */
  dow?: boolean;
}

/**
 * Fill Python `%`-style named placeholders (`%(name)s`, `%(name)d`, `%%`), the syntax of
 * Tornado's translation strings, so translated formats carry over unchanged.
 */
export function interpolate(template: string, values: Record<string, string | number>): string {
  return template.replace(/%(?:\((\w+)\)([sd])|%)/g, (whole, name: string | undefined, kind) => {
    if (name === undefined) return '%';
    const value = values[name];
    if (value === undefined) return whole;
    return kind === 'd' && typeof value === 'number' ? String(Math.trunc(value)) : String(value);
  });
}

// Python 3's round(): halves go to the even neighbour, so "2.5 minutes" reads "2 minutes ago"
// as in Tornado.
function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function toEpochMs(date: Date | number, what: string): number {
  const ms = date instanceof Date ? date.getTime() : date;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TypeError(`${what}: expected a valid Date or epoch milliseconds`);
  }
  return ms;
}

/**
 * A language to show text and dates in: its `code`, native `name`, whether it is written
 * right to left, and the translation and formatting methods. Get one with
 * {@link Locale.get} or {@link Locale.getClosest} after loading translations (or none: the
 * default `en_US` always works, and translates every message to itself).
 *
 * Messages are the strings of the default language; plural forms pick the translation by a
 * count. Translations keep Tornado's Python-style placeholders (`%(name)s`), so translation
 * files carry over unchanged; fill them with your own code.
 *
 * @example
 * ```ts
 * import { Locale, loadTranslations } from 'typhoon/locale';
 * loadTranslations('translations');
 * const locale = Locale.getClosest('es-MX', 'en');
 * locale.translate('Sign out');
 * locale.translate('%(n)s person', '%(n)s people', 3).replace('%(n)s', '3');
 * locale.formatDate(Date.now() - 120_000); // '2 minutes ago' in en_US
 * ```
 * Tornado: `tornado.locale.Locale`.
 */
export abstract class Locale {
  /** The locale's code, e.g. `en_US`, `fr_FR`, `es`. */
  readonly code: string;
  /** Its name in its own language (`Español`, `中文(简体)`), or `Unknown`. */
  readonly name: string;
  /** Whether the language is written right to left (Persian, Arabic, Hebrew). */
  readonly rtl: boolean;
  #months: string[] | undefined;
  #weekdays: string[] | undefined;

  constructor(code: string) {
    this.code = code;
    this.name = LOCALE_NAMES[code]?.name ?? 'Unknown';
    this.rtl = code.startsWith('fa') || code.startsWith('ar') || code.startsWith('he');
  }

  /**
   * The locale for exactly this code, which must be loaded or be the default (`RangeError`
   * otherwise). Cached: the same object until the next load.
   *
   * @example
   * ```ts
   * Locale.get('en_US').formatDay(new Date()); // works with nothing loaded
   * ```
   * Tornado: `tornado.locale.Locale.get`.
   */
  static get(code: string): Locale {
    let locale = cache.get(code);
    if (locale === undefined) {
      if (!supported.has(code)) {
        throw new RangeError(
          `Locale.get: '${code}' is not a supported locale (supported: ${[...supported].join(', ')})`,
        );
      }
      const factory = factories.get(code);
      locale = factory === undefined ? new CSVLocale(code, new Map()) : factory(code);
      cache.set(code, locale);
    }
    return locale;
  }

  /**
   * The best loaded locale for a list of wishes, first wish first: `en-US`, `en_us` and
   * `en_US` are the same; a code with a region also matches its bare language (`es_MX` → a
   * loaded `es`), but a bare language never matches a regional one (`fr` with only `fr_FR`
   * loaded → the default), as in Tornado. Empty wishes and codes with more than two parts are
   * skipped; with no match, the default locale.
   *
   * @example
   * ```ts
   * Locale.getClosest('de-AT', 'fr', 'en').code;
   * ```
   * Tornado: `tornado.locale.get` / `Locale.get_closest`.
   */
  static getClosest(...codes: (string | null | undefined)[]): Locale {
    for (const wish of codes) {
      if (!wish) continue;
      const parts = wish.replaceAll('-', '_').split('_');
      if (parts.length > 2) continue;
      const language = (parts[0] ?? '').toLowerCase();
      const code = parts.length === 2 ? `${language}_${(parts[1] ?? '').toUpperCase()}` : wish;
      if (supported.has(code)) return Locale.get(code);
      if (supported.has(language)) return Locale.get(language);
    }
    return Locale.get(defaultCode);
  }

  /**
   * The translation of `message`. With `pluralMessage` and `count`, the translation of
   * `message` when the count asks for the singular, of `pluralMessage` otherwise (which count
   * that is depends on the locale's plural rule: CSV files use `count === 1`, gettext files
   * their `Plural-Forms`). An untranslated message comes back unchanged.
   *
   * Tornado: `Locale.translate`.
   */
  abstract translate(message: string, pluralMessage?: string, count?: number): string;

  /**
   * {@link Locale.translate} in a context, for words that translate differently by meaning:
   * `pgettext('law', 'right')` vs `pgettext('good', 'right')`. Only gettext translations
   * have contexts; CSV translations ignore the context (and log a warning once).
   *
   * Tornado: `Locale.pgettext`.
   */
  abstract pgettext(
    context: string,
    message: string,
    pluralMessage?: string,
    count?: number,
  ): string;

  /** The month names in this language (through `translate`), January first. */
  protected get months(): readonly string[] {
    // Lazily: a subclass's translation tables are not set yet while this constructor runs.
    return (this.#months ??= MONTHS.map((m) => this.translate(m)));
  }

  /** The weekday names in this language (through `translate`), Monday first. */
  protected get weekdays(): readonly string[] {
    return (this.#weekdays ??= WEEKDAYS.map((d) => this.translate(d)));
  }

  /**
   * A date for people, as Tornado writes it. `date` is a `Date` or epoch milliseconds (a UTC
   * instant); `gmtOffset` shifts it to the reader's time zone. Recent dates are relative
   * ("1 second ago", "2 minutes ago", "3 hours ago", "yesterday at 6:35 pm", "Monday at 6:35
   * pm"), within 11 months "April 28 at 6:35 pm", older "April 28, 2013 at 6:35 pm"; `shorter`
   * drops the time, `relative: false` the "ago" and "yesterday" forms, `fullFormat` always
   * gives the full form. A date in the future gives the full form, except up to a minute ahead
   * (clock skew), which counts as now. The 12-hour clock is for `en` and `en_US` (and
   * `zh_CN`'s 上午/下午), the 24-hour clock elsewhere.
   *
   * @example
   * ```ts
   * Locale.get('en_US').formatDate(Date.UTC(2013, 3, 28, 18, 35), { fullFormat: true });
   * // 'April 28, 2013 at 6:35 pm'
   * ```
   * Tornado: `Locale.format_date`.
   */
  formatDate(date: Date | number, options: FormatDateOptions = {}): string {
    const gmtOffset = options.gmtOffset ?? 0;
    const relative = options.relative ?? true;
    const shorter = options.shorter ?? false;
    let fullFormat = options.fullFormat ?? false;
    let when = toEpochMs(date, 'formatDate');
    const now = Date.now();
    if (when > now) {
      if (relative && when - now < MINUTE) when = now;
      else fullFormat = true;
    }
    const local = new Date(when - gmtOffset * MINUTE);
    const localYesterday = new Date(now - gmtOffset * MINUTE - DAY);
    const difference = now - when;
    // Python's timedelta: whole days, then the seconds left over.
    const days = Math.floor(difference / DAY);
    const seconds = Math.floor((difference - days * DAY) / 1000);

    const _ = (m: string, p?: string, c?: number): string => this.translate(m, p, c);
    let format: string | undefined;
    if (!fullFormat) {
      if (relative && days === 0) {
        if (seconds < 50) {
          return interpolate(_('1 second ago', '%(seconds)d seconds ago', seconds), { seconds });
        }
        if (seconds < 50 * 60) {
          const minutes = roundHalfEven(seconds / 60);
          return interpolate(_('1 minute ago', '%(minutes)d minutes ago', minutes), { minutes });
        }
        const hours = roundHalfEven(seconds / 3600);
        return interpolate(_('1 hour ago', '%(hours)d hours ago', hours), { hours });
      }
      if (days === 0) {
        format = _('%(time)s');
      } else if (days === 1 && local.getUTCDate() === localYesterday.getUTCDate() && relative) {
        format = shorter ? _('yesterday') : _('yesterday at %(time)s');
      } else if (days < 5) {
        format = shorter ? _('%(weekday)s') : _('%(weekday)s at %(time)s');
      } else if (days < 334) {
        // 11 months: the same month of last year would be confusing without the year.
        format = shorter ? _('%(month_name)s %(day)s') : _('%(month_name)s %(day)s at %(time)s');
      }
    }
    format ??= shorter
      ? _('%(month_name)s %(day)s, %(year)s')
      : _('%(month_name)s %(day)s, %(year)s at %(time)s');

    const hour = local.getUTCHours();
    const minute = String(local.getUTCMinutes()).padStart(2, '0');
    let time: string;
    if (this.code === 'en' || this.code === 'en_US') {
      time = `${hour % 12 || 12}:${minute} ${hour >= 12 ? 'pm' : 'am'}`;
    } else if (this.code === 'zh_CN') {
      time = `${hour >= 12 ? '下午' : '上午'}${hour % 12 || 12}:${minute}`;
    } else {
      time = `${hour}:${minute}`;
    }
    return interpolate(format, {
      month_name: this.months[local.getUTCMonth()] ?? '',
      weekday: this.weekdays[(local.getUTCDay() + 6) % 7] ?? '',
      day: String(local.getUTCDate()),
      year: String(local.getUTCFullYear()),
      time,
    });
  }

  /**
   * A day, "Sunday, April 28" (or "April 28" with `dow: false`), in the reader's time zone.
   *
   * @example
   * ```ts
   * Locale.get('en_US').formatDay(Date.UTC(2013, 3, 28, 18, 35)); // 'Sunday, April 28'
   * ```
   * Tornado: `Locale.format_day`.
   */
  formatDay(date: Date | number, options: FormatDayOptions = {}): string {
    const local = new Date(toEpochMs(date, 'formatDay') - (options.gmtOffset ?? 0) * MINUTE);
    const values = {
      month_name: this.months[local.getUTCMonth()] ?? '',
      weekday: this.weekdays[(local.getUTCDay() + 6) % 7] ?? '',
      day: String(local.getUTCDate()),
    };
    return (options.dow ?? true)
      ? interpolate(this.translate('%(weekday)s, %(month_name)s %(day)s'), values)
      : interpolate(this.translate('%(month_name)s %(day)s'), values);
  }

  /**
   * Join parts as a sentence does: "A, B and C", "A and B", "A", "" (Persian joins with
   * " و ").
   *
   * @example
   * ```ts
   * Locale.get('en_US').list(['A', 'B', 'C']); // 'A, B and C'
   * ```
   * Tornado: `Locale.list`.
   */
  list(parts: readonly string[]): string {
    if (parts.length === 0) return '';
    if (parts.length === 1) return parts[0] ?? '';
    const comma = this.code.startsWith('fa') ? ' و ' : ', ';
    return interpolate(this.translate('%(commas)s and %(last)s'), {
      commas: parts.slice(0, -1).join(comma),
      last: parts[parts.length - 1] ?? '',
    });
  }

  /**
   * A number with thousands separators for English (`1,000,000`); other locales get the plain
   * digits, as in Tornado.
   *
   * @example
   * ```ts
   * Locale.get('en_US').friendlyNumber(1234567); // '1,234,567'
   * ```
   * Tornado: `Locale.friendly_number`.
   */
  friendlyNumber(value: number | bigint): string {
    const text = String(value);
    if (this.code !== 'en' && this.code !== 'en_US') return text;
    // Group the digits of the integer part only: Tornado's grouping of the whole string
    // would also split a sign or a fraction.
    const match = /^(-?)(\d+)(.*)$/s.exec(text);
    if (match === null) return text;
    const [, sign = '', digits = '', rest = ''] = match;
    return sign + digits.replace(/\B(?=(\d{3})+$)/g, ',') + rest;
  }
}

/** Translations of a CSV file, by plural indicator. */
export type CSVTable = ReadonlyMap<'plural' | 'singular' | 'unknown', ReadonlyMap<string, string>>;

/**
 * A locale whose translations come from a Tornado CSV file (see `loadTranslations`), and the
 * kind of every locale that has no translations at all. Plurals: the singular rows when
 * `count === 1`, the plural rows otherwise.
 *
 * @example
 * ```ts
 * loadTranslations('translations');
 * Locale.get('es_LA') instanceof CSVLocale; // true
 * ```
 * Tornado: `tornado.locale.CSVLocale`.
 */
export class CSVLocale extends Locale {
  readonly #table: CSVTable;
  #warned = false;

  constructor(code: string, table: CSVTable) {
    super(code);
    this.#table = table;
  }

  translate(message: string, pluralMessage?: string, count?: number): string {
    let rows: ReadonlyMap<string, string> | undefined;
    let key = message;
    if (pluralMessage !== undefined) {
      checkCount(count);
      if (count !== 1) {
        key = pluralMessage;
        rows = this.#table.get('plural');
      } else {
        rows = this.#table.get('singular');
      }
    } else {
      rows = this.#table.get('unknown');
    }
    return rows?.get(key) ?? key;
  }

  pgettext(context: string, message: string, pluralMessage?: string, count?: number): string {
    if (this.#table.size > 0 && !this.#warned) {
      // Once per locale, not per call as Tornado does: a template loop would flood the log.
      this.#warned = true;
      genLog.warning('pgettext is not supported by CSVLocale');
    }
    return this.translate(message, pluralMessage, count);
  }
}

/** A plural translation needs its count; Tornado asserts the same. */
export function checkCount(count: number | undefined): asserts count is number {
  if (typeof count !== 'number' || Number.isNaN(count)) {
    throw new TypeError('translate: a plural message needs a numeric count');
  }
}
