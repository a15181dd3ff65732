/**
 * Tornado's CSV translation files: `LANG.csv` in one folder, rows of
 * `"message","translation"[,"plural"|"singular"|"unknown"]` in Excel's CSV dialect.
 * @module
 */
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TranslationError } from '../errors.ts';
import { genLog } from '../log.ts';
import { CSVLocale, installTranslations, type CSVTable, type LocaleFactory } from './locale.ts';

/** Options of {@link loadTranslations}. */
export interface LoadTranslationsOptions {
  /**
   * The files' encoding, any label `TextDecoder` knows (`utf-8`, `utf-16le`, `latin1`, …).
   * Default: read from each file's byte-order mark (UTF-16 LE/BE or UTF-8), else UTF-8.
   */
  encoding?: string;
}

/** One record of a CSV file and the physical line it starts on. */
export interface CSVRecord {
  fields: string[];
  line: number;
}

/** A CSV syntax error: the record starting at `line` is malformed. */
class CSVSyntaxError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(message);
    this.line = line;
  }
}

/**
 * Split CSV text into records as Python's `csv.reader` does in the `excel` dialect: `,`
 * between fields, `"` around a field that holds commas, quotes (doubled) or line breaks, any
 * of CRLF, LF or CR ending a record; blank lines give no record. As Python's reader, text
 * after a closing quote is kept (`"a"b` → `ab`); unlike it, a quote left open at the end of
 * the file is an error (it swallowed every row after it).
 */
export function parseCSV(text: string): CSVRecord[] {
  const records: CSVRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  // 0 start of record, 1 start of field, 2 in unquoted field, 3 in quoted field,
  // 4 quote seen inside a quoted field
  let state = 0;
  const endRecord = (): void => {
    fields.push(field);
    records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    state = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const newline = c === '\n' || c === '\r';
    if (newline && c === '\r' && text[i + 1] === '\n') i++;
    if (state === 3) {
      if (c === '"') state = 4;
      else if (newline) {
        // Any line break inside a quoted field reads as \n, as Python's text files give it.
        field += '\n';
        line++;
      } else field += c;
      continue;
    }
    if (newline) {
      if (state !== 0) endRecord();
      line++;
      recordLine = line;
      continue;
    }
    switch (state) {
      case 0:
      case 1:
        if (state === 0) recordLine = line;
        if (c === '"') state = 3;
        else if (c === ',') {
          fields.push(field);
          field = '';
          state = 1;
        } else {
          field += c;
          state = 2;
        }
        break;
      case 2:
        if (c === ',') {
          fields.push(field);
          field = '';
          state = 1;
        } else field += c;
        break;
      case 4:
        if (c === '"') {
          field += '"';
          state = 3;
        } else if (c === ',') {
          fields.push(field);
          field = '';
          state = 1;
        } else {
          field += c;
          state = 2;
        }
        break;
    }
  }
  if (state === 3) throw new CSVSyntaxError('Unterminated quoted field', recordLine);
  if (state !== 0) endRecord();
  return records;
}

function decode(bytes: Buffer, encoding: string | undefined, file: string): string {
  let label = encoding;
  if (label === undefined) {
    if (bytes[0] === 0xff && bytes[1] === 0xfe) label = 'utf-16le';
    else if (bytes[0] === 0xfe && bytes[1] === 0xff) label = 'utf-16be';
    else label = 'utf-8'; // TextDecoder drops a UTF-8 BOM (Excel writes one)
  }
  try {
    return new TextDecoder(label, { fatal: true }).decode(bytes);
  } catch (error) {
    if (error instanceof RangeError) throw error; // an encoding label TextDecoder does not know
    throw new TranslationError(`Bytes that are not valid ${label}`, {
      filename: file,
      cause: error,
    });
  }
}

const PLURAL_INDICATORS = new Set(['plural', 'singular', 'unknown'] as const);
type PluralIndicator = 'plural' | 'singular' | 'unknown';

/**
 * Load Tornado's CSV translations from a folder: one file per locale, named by its code
 * (`es_LA.csv`, `fr.csv`), each row `"message","translation"` with an optional third column,
 * `plural`, `singular` or `unknown`/empty (used by {@link Locale.translate} with and without a
 * count). Cells are trimmed; rows with fewer than two cells are skipped. Replaces whatever was
 * loaded before, and keeps it if this load fails. A file name that is not a locale code is
 * skipped with an error logged, as in Tornado; a malformed row (an unknown plural indicator,
 * an unterminated quote) or bytes invalid in the encoding throw {@link TranslationError} naming
 * the file and line, where Tornado logs and skips the row.
 *
 * @example
 * ```ts
 * // translations/es_LA.csv:
 * //   "I love you","Te amo"
 * //   "%(name)s liked this","A %(name)s les gustó esto","plural"
 * //   "%(name)s liked this","A %(name)s le gustó esto","singular"
 * loadTranslations('translations');
 * Locale.get('es_LA').translate('I love you'); // 'Te amo'
 * ```
 * Tornado: `tornado.locale.load_translations`.
 */
export function loadTranslations(directory: string, options: LoadTranslationsOptions = {}): void {
  const next = new Map<string, LocaleFactory>();
  for (const name of readdirSync(directory).sort()) {
    if (!name.endsWith('.csv')) continue;
    const file = join(directory, name);
    const code = name.slice(0, -'.csv'.length);
    if (!/^[a-z]+(_[A-Z]+)?$/.test(code)) {
      genLog.error(`Unrecognized locale '${code}' (path: ${file})`);
      continue;
    }
    const table = readTable(file, options.encoding);
    next.set(code, (c) => new CSVLocale(c, table));
  }
  installTranslations(next);
}

function readTable(file: string, encoding: string | undefined): CSVTable {
  const text = decode(readFileSync(file), encoding, file);
  let records: CSVRecord[];
  try {
    records = parseCSV(text);
  } catch (error) {
    if (!(error instanceof CSVSyntaxError)) throw error;
    throw new TranslationError(error.message, { filename: file, lineno: error.line });
  }
  const table = new Map<PluralIndicator, Map<string, string>>();
  for (const { fields, line } of records) {
    if (fields.length < 2) continue;
    const cells = fields.map((f) => f.trim());
    const indicator = (cells.length > 2 && cells[2]) || 'unknown';
    if (!PLURAL_INDICATORS.has(indicator as PluralIndicator)) {
      throw new TranslationError(`Unrecognized plural indicator '${indicator}'`, {
        filename: file,
        lineno: line,
      });
    }
    let rows = table.get(indicator as PluralIndicator);
    if (rows === undefined) table.set(indicator as PluralIndicator, (rows = new Map()));
    rows.set(cells[0] ?? '', cells[1] ?? '');
  }
  return table;
}
