/**
 * gettext translations: compiled `.mo` catalogs in `{directory}/{lang}/LC_MESSAGES/{domain}.mo`,
 * read with `gettext-parser` (loaded on first use, so apps on CSV files never load it), their
 * plural rule taken from the catalog's `Plural-Forms` header.
 * @module
 */
import { Buffer } from 'node:buffer';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TranslationError } from '../errors.ts';
import { checkCount, installTranslations, Locale, type LocaleFactory } from './locale.ts';
import { compilePluralForms, germanicPlural, type PluralRule } from './plural.ts';

// gettext's separator between a context and its message in a catalog key.
const CONTEXT_SEPARATOR = '\x04';

/** One language's compiled catalog. */
export interface GettextCatalog {
  /** Messages without plural forms, by key (`context\x04message` when in a context). */
  readonly singular: ReadonlyMap<string, string>;
  /** Messages with plural forms, by the key of their singular message. */
  readonly plural: ReadonlyMap<string, readonly string[]>;
  /** The index of the plural form for a count, from `Plural-Forms`. */
  readonly rule: PluralRule;
}

/**
 * A locale whose translations come from a gettext `.mo` catalog (see
 * {@link loadGettextTranslations}); the catalog's `Plural-Forms` picks the plural form, so
 * languages with one, two or more forms all work, and contexts (`pgettext`) are supported.
 *
 * @example
 * ```ts
 * await loadGettextTranslations('locale', 'myapp');
 * const fr = Locale.get('fr_FR');
 * fr.pgettext('law', 'right'); // 'le droit'
 * ```
 * Tornado: `tornado.locale.GettextLocale`.
 */
export class GettextLocale extends Locale {
  readonly #catalog: GettextCatalog;

  constructor(code: string, catalog: GettextCatalog) {
    super(code);
    this.#catalog = catalog;
  }

  translate(message: string, pluralMessage?: string, count?: number): string {
    if (pluralMessage === undefined) return this.#catalog.singular.get(message) ?? message;
    checkCount(count);
    return this.#ngettext(message, pluralMessage, count) ?? (count === 1 ? message : pluralMessage);
  }

  pgettext(context: string, message: string, pluralMessage?: string, count?: number): string {
    const key = context + CONTEXT_SEPARATOR + message;
    if (pluralMessage === undefined) return this.#catalog.singular.get(key) ?? message;
    checkCount(count);
    // Not found in the context: the message's translation without one, as Tornado falls back.
    return (
      this.#ngettext(key, pluralMessage, count) ?? this.translate(message, pluralMessage, count)
    );
  }

  #ngettext(key: string, _pluralMessage: string, count: number): string | undefined {
    const forms = this.#catalog.plural.get(key);
    if (forms === undefined) return undefined;
    const form = forms[this.#catalog.rule(count)];
    return form === undefined || form === '' ? undefined : form;
  }
}

type MoParse = (buffer: Buffer) => unknown;
let moParse: MoParse | undefined;

async function loadParser(): Promise<MoParse> {
  if (moParse === undefined) {
    const gettextParser = await import('gettext-parser');
    moParse = (buffer) => gettextParser.mo.parse(buffer);
  }
  return moParse;
}

interface ParsedTable {
  headers?: Record<string, string>;
  translations?: Record<string, Record<string, { msgid_plural?: string; msgstr?: string[] }>>;
}

/** Build a catalog from one `.mo` file's bytes; `file` names it in errors. */
export function buildCatalog(parsed: unknown, file: string): GettextCatalog {
  if (parsed === false || typeof parsed !== 'object' || parsed === null) {
    throw new TranslationError('Not a gettext .mo file (bad magic number)', { filename: file });
  }
  const table = parsed as ParsedTable;
  const singular = new Map<string, string>();
  const plural = new Map<string, string[]>();
  for (const [context, messages] of Object.entries(table.translations ?? {})) {
    for (const [msgid, entry] of Object.entries(messages)) {
      if (msgid === '' && context === '') continue; // the header entry
      const key = context === '' ? msgid : context + CONTEXT_SEPARATOR + msgid;
      const forms = entry.msgstr ?? [];
      if (entry.msgid_plural !== undefined) plural.set(key, forms);
      else if (forms[0] !== undefined && forms[0] !== '') singular.set(key, forms[0]);
    }
  }
  const header = Object.entries(table.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'plural-forms',
  )?.[1];
  let rule = germanicPlural;
  if (header !== undefined && header.trim() !== '') {
    try {
      rule = compilePluralForms(header);
    } catch (error) {
      throw new TranslationError(`Bad Plural-Forms '${header}': ${(error as Error).message}`, {
        filename: file,
        cause: error,
      });
    }
  }
  return { singular, plural, rule };
}

/**
 * Load gettext translations: every `{directory}/{lang}/LC_MESSAGES/{domain}.mo`, each one the
 * translations of locale `lang`. Replaces whatever was loaded before (and keeps it if this load
 * fails). A file that is not a valid catalog, or whose `Plural-Forms` cannot be read, throws
 * {@link TranslationError} naming it (Tornado logs and skips it).
 *
 * Asynchronous, unlike Tornado's, because `gettext-parser` is imported on first use only;
 * await it before serving.
 *
 * @example
 * ```ts
 * // msgfmt myapp.po -o locale/pt_BR/LC_MESSAGES/myapp.mo
 * await loadGettextTranslations('locale', 'myapp');
 * Locale.get('pt_BR').translate('Sign out');
 * ```
 * Tornado: `tornado.locale.load_gettext_translations`.
 */
export async function loadGettextTranslations(directory: string, domain: string): Promise<void> {
  const parse = await loadParser();
  const next = new Map<string, LocaleFactory>();
  for (const entry of (await readdir(directory, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    if (!entry.isDirectory()) continue;
    const file = join(directory, entry.name, 'LC_MESSAGES', `${domain}.mo`);
    const info = await stat(file).catch(() => undefined);
    if (info === undefined || !info.isFile()) continue;
    let parsed: unknown;
    try {
      parsed = parse(await readFile(file));
    } catch (error) {
      throw new TranslationError(`Cannot read the catalog: ${(error as Error).message}`, {
        filename: file,
        cause: error,
      });
    }
    const catalog = buildCatalog(parsed, file);
    next.set(entry.name, (code) => new GettextLocale(code, catalog));
  }
  installTranslations(next);
}
