/// <reference types="node" preserve="true" />

/**
 * Translations and locale-aware formatting, as Tornado's `tornado.locale`.
 *
 * Load one kind of translation files once at startup — Tornado's CSV files with
 * {@link loadTranslations}, or gettext `.mo` catalogs with {@link loadGettextTranslations} —
 * then pick a {@link Locale} per user with {@link Locale.getClosest} (the web framework does
 * it from `Accept-Language` for `RequestHandler.locale`). Without any translations the default
 * locale (`en_US`, see {@link setDefaultLocale}) translates every message to itself and
 * formats dates, lists and numbers in English.
 *
 * @example
 * ```ts
 * import { loadTranslations, Locale } from 'typhoon/locale';
 * loadTranslations(new URL('./translations', import.meta.url).pathname);
 * const locale = Locale.getClosest('es-MX', 'en-US');
 * console.log(locale.name, locale.translate('Sign out'), locale.list(['A', 'B']));
 * ```
 * Tornado: `tornado.locale`.
 * @module typhoon/locale
 */
// First, so that an unsupported Node.js fails with one clear sentence (see there).
import '../internal/node-version.ts';
export {
  Locale,
  CSVLocale,
  setDefaultLocale,
  getSupportedLocales,
  type FormatDateOptions,
  type FormatDayOptions,
} from './locale.ts';
export { loadTranslations, type LoadTranslationsOptions } from './csv.ts';
export { GettextLocale, loadGettextTranslations } from './gettext.ts';
export { LOCALE_NAMES, type LocaleName } from './names.ts';
